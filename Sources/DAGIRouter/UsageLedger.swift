import Foundation
import Logging
import MeshStore
import ServiceLifecycle
import Synchronization

/// The usage ledger, kept off the request path: a request adds its tokens and latency to an
/// in-memory sum for (minute, agent, model, route, status); once a second the sums that changed
/// are written in one transaction (and replicate). A busy router thus writes a handful of rows
/// a second, not one per request, and the table stays bounded.
public final class UsageLedger: Service, Sendable {
    struct Key: Hashable {
        let minute: Int64
        let agent: String
        let model: String
        let route: String
        let status: Int
    }

    let store: MeshStore
    let logger: Logger
    private let buckets = Mutex<[Key: UsageRecord]>([:])
    private let dirty = Mutex<Set<Key>>([])

    public init(store: MeshStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func record(agent: String, model: String, route: String, status: Int, tokensIn: Int64, tokensOut: Int64, latencyMs: Double, requestID: String) {
        let now = store.clock.wallMilliseconds()
        let key = Key(minute: now / 60_000 * 60_000, agent: agent, model: model, route: route, status: status)
        buckets.withLock { buckets in
            if var row = buckets[key] {
                row.requests += 1
                row.tokensIn += tokensIn
                row.tokensOut += tokensOut
                row.latencyMs += latencyMs
                row.requestID = requestID
                buckets[key] = row
            } else {
                buckets[key] = UsageRecord(
                    nodeID: store.nodeID, id: "\(key.minute)|\(agent)|\(model)|\(route)|\(status)", ts: key.minute, agent: agent,
                    model: model, route: route, status: status, tokensIn: tokensIn, tokensOut: tokensOut, latencyMs: latencyMs,
                    requestID: requestID, requests: 1
                )
            }
        }
        _ = dirty.withLock { $0.insert(key) }
    }

    public func flush() async {
        let keys = dirty.withLock { keys in
            defer { keys.removeAll() }
            return keys
        }
        guard !keys.isEmpty else { return }
        let currentMinute = store.clock.wallMilliseconds() / 60_000 * 60_000
        let rows: [UsageRecord] = buckets.withLock { buckets in keys.compactMap { buckets[$0] } }
        do {
            try await store.write { writer in for row in rows { try writer.put(row) } }
            // Minutes before the last are complete once written: let every written one go, so
            // memory holds about two minutes of sums whatever the traffic.
            let pending = dirty.withLock { $0 }
            buckets.withLock { buckets in
                buckets = buckets.filter { $0.key.minute >= currentMinute - 60_000 || pending.contains($0.key) }
            }
        } catch {
            dirty.withLock { $0.formUnion(keys) }
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
