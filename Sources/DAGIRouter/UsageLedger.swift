import Foundation
import Logging
import MeshStore
import ServiceLifecycle
import Synchronization

/// The usage ledger's writer, kept off the request path: a finished request appends its row to
/// a buffer (one lock, no await); once a second the buffer is written in one transaction, and
/// the rows replicate like any owned row. Bounded: past `capacity` rows waiting (a store that
/// cannot keep up), new rows are dropped, counted and logged, never the node's memory.
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
        // O(1) under the lock, on the event loop: a full buffer refuses the row.
        let kept = pending.withLock { pending in
            guard pending.count < capacity else { return false }
            pending.append(row)
            return true
        }
        if !kept { dropped.add(1, ordering: .relaxed) }
    }

    /// Rows per write transaction.
    static let chunk = 2_000

    public func flush() async {
        let rows = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        let lost = dropped.exchange(0, ordering: .relaxed)
        if lost > 0 { logger.error("usage ledger full: \(lost) rows dropped (the store is not keeping up)") }
        guard !rows.isEmpty else { return }
        // Short transactions after a backlog: other writers wait for one chunk, not all of it.
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.chunk, rows.count)]
            do {
                let clock = store.clock
                try await store.write { writer in
                    for var row in chunk {
                        // Unique on this node: the stamp of the moment it is written.
                        row.id = clock.now().storedValue
                        try writer.put(row)
                    }
                }
            } catch {
                let unwritten = rows[start...]
                pending.withLock { $0.insert(contentsOf: unwritten.suffix(capacity - min(capacity, $0.count)), at: 0) }
                logger.error("usage ledger flush failed, retrying: \(error)")
                return
            }
            start += Self.chunk
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
