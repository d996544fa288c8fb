import Foundation
import Logging
import MeshStore
import ServiceLifecycle
import Synchronization

/// The per-request usage ledger, written in batches off the request path: requests append to
/// memory; a flush each second writes them in one transaction (and replicates them). Bounded:
/// past `capacity` unflushed entries the oldest are dropped and counted.
public final class UsageLedger: Service, Sendable {
    let store: MeshStore
    let logger: Logger
    let capacity: Int
    private let pending = Mutex<[UsageRecord]>([])
    private let sequence = Mutex<UInt64>(0)
    private let prefix: String

    public init(store: MeshStore, logger: Logger, capacity: Int = 100_000) {
        self.store = store
        self.logger = logger
        self.capacity = capacity
        // Ids unique within the node across restarts: start time, then a counter.
        prefix = String(store.clock.wallMilliseconds(), radix: 36) + "-"
    }

    func record(agent: String, model: String, route: String, status: Int, tokensIn: Int64, tokensOut: Int64, latencyMs: Double, requestID: String) {
        let id = prefix + String(sequence.withLock { $0 += 1; return $0 }, radix: 36)
        let entry = UsageRecord(
            nodeID: store.nodeID, id: id, ts: store.clock.wallMilliseconds(), agent: agent, model: model, route: route,
            status: status, tokensIn: tokensIn, tokensOut: tokensOut, costUSD: 0, latencyMs: latencyMs, requestID: requestID
        )
        pending.withLock { pending in
            if pending.count >= capacity { pending.removeFirst(pending.count - capacity + 1) }
            pending.append(entry)
        }
    }

    public func flush() async {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.write { writer in for entry in batch { try writer.put(entry) } }
        } catch {
            logger.error("usage ledger flush failed; \(batch.count) entries lost: \(error)")
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
