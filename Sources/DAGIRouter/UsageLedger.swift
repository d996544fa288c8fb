import Foundation
import Logging
import MeshStore
import ServiceLifecycle
import Synchronization

/// The usage ledger's writer, kept off the request path: a finished request appends its row to
/// a buffer (one lock, no await); once a second the buffer is written in one transaction, and
/// the rows replicate like any owned row. Bounded: past `capacity` rows waiting (a store that
/// cannot keep up), the oldest are dropped and counted, never the node's memory.
public final class UsageLedger: Service, Sendable {
    let store: MeshStore
    let logger: Logger
    let capacity: Int
    private let pending = Mutex<[UsageRecord]>([])
    private let dropped = Atomic<Int>(0)

    public init(store: MeshStore, logger: Logger, capacity: Int = 100_000) {
        self.store = store
        self.logger = logger
        self.capacity = capacity
    }

    func record(_ row: UsageRecord) {
        pending.withLock { pending in
            if pending.count >= capacity {
                pending.removeFirst(pending.count - capacity + 1)
                dropped.add(1, ordering: .relaxed)
            }
            pending.append(row)
        }
    }

    /// Rows recorded since start that could not be kept (the store fell behind).
    var droppedRows: Int { dropped.load(ordering: .relaxed) }

    public func flush() async {
        let rows = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !rows.isEmpty else { return }
        do {
            let clock = store.clock
            try await store.write { writer in
                for var row in rows {
                    // Unique on this node: the stamp of the moment it is written.
                    row.id = clock.now().storedValue
                    try writer.put(row)
                }
            }
        } catch {
            pending.withLock { $0.insert(contentsOf: rows.suffix(capacity - min(capacity, $0.count)), at: 0) }
            logger.error("usage ledger flush failed, retrying: \(error)")
        }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                await self.flush()
            }
        }
        await flush()
    }
}
