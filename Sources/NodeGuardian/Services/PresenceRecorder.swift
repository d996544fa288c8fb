import Logging
import MeshStore
import ServiceLifecycle
import Synchronization

/// Records when agents were last seen on this node.
///
/// Requests mark an agent in memory only (a lock and a dictionary write, no await); the marks
/// are written in one transaction at most once a second, off every request's path. An explicit
/// heartbeat asks for an immediate write. On shutdown pending marks are flushed, so none are lost.
public final class PresenceRecorder: Service, Sendable {
    let store: MeshStore
    let logger: Logger
    private let pending = Mutex<[String: (lastSeen: Int64, count: Int64)]>([:])
    private let totals = Mutex<[String: Int64]?>(nil)
    private let lastTouchFlush = Mutex<ContinuousClock.Instant?>(nil)

    public init(store: MeshStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Marks `agent` as seen now.
    public func mark(_ agent: String) {
        let now = store.clock.wallMilliseconds()
        pending.withLock { pending in
            let count = pending[agent]?.count ?? 0
            pending[agent] = (now, count + 1)
        }
    }

    /// Marks `agent` and writes at once (explicit heartbeats) — unless a write happened within
    /// the last second: heartbeats, however many, never cost more than one write a second.
    public func touch(_ agent: String) async throws {
        mark(agent)
        let due = lastTouchFlush.withLock { last in
            guard let previous = last, ContinuousClock.now - previous < .seconds(1) else {
                last = .now
                return true
            }
            return false
        }
        if due { try await flush() }
    }

    /// Writes pending marks.
    public func flush() async throws {
        let marks = pending.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        guard !marks.isEmpty else { return }
        if totals.withLock({ $0 == nil }) {
            let state = try await store.state()
            let known = Dictionary(state.presence.filter { $0.nodeID == store.nodeID }.map { ($0.agent, $0.requests) }, uniquingKeysWith: max)
            totals.withLock { if $0 == nil { $0 = known } }
        }
        let records: [AgentPresenceRecord] = totals.withLock { totals in
            marks.map { agent, mark in
                let total = (totals?[agent] ?? 0) + mark.count
                totals?[agent] = total
                return AgentPresenceRecord(agent: agent, nodeID: store.nodeID, lastSeen: mark.lastSeen, requests: total)
            }
        }
        try await store.write { writer in for record in records { try writer.put(record) } }
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
