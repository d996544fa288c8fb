import Logging
import MeshStore
import ServiceLifecycle

/// Records when agents were last seen on this node.
///
/// Requests mark an agent in memory only; the marks are written in one transaction at most
/// once a second, off every request's path. An explicit heartbeat can ask for an immediate
/// write. On shutdown the pending marks are flushed, so none are lost.
public actor PresenceRecorder: Service {
    let store: MeshStore
    let logger: Logger
    private var pending: [String: (lastSeen: Int64, count: Int64)] = [:]
    private var totals: [String: Int64] = [:]

    public init(store: MeshStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Marks `agent` as seen now.
    public func touch(_ agent: String, flush immediately: Bool = false) async throws {
        let now = store.clock.wallMilliseconds()
        let previous = pending[agent]?.count ?? 0
        pending[agent] = (now, previous + 1)
        if immediately { try await flush() }
    }

    /// Writes pending marks.
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        if totals.isEmpty {
            let state = try await store.state()
            for row in state.presence where row.nodeID == store.nodeID { totals[row.agent] = row.requests }
        }
        var records: [AgentPresenceRecord] = []
        for (agent, mark) in pending {
            let total = (totals[agent] ?? 0) + mark.count
            totals[agent] = total
            records.append(AgentPresenceRecord(agent: agent, nodeID: store.nodeID, lastSeen: mark.lastSeen, requests: total))
        }
        pending.removeAll()
        let batch = records
        try await store.write { writer in for record in batch { try writer.put(record) } }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                do { try await self.flush() } catch { self.logger.error("presence flush failed: \(error)") }
            }
        }
        try await flush()
    }
}
