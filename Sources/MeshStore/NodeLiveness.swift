/// Whether a node is up, judged from its heartbeats.
public enum NodeLiveness: String, Codable, Sendable {
    /// Heartbeats arrive on time.
    case online
    /// Heartbeats are late; the node may come back.
    case stale
    /// It said so on a clean shutdown, or has been silent for long.
    case offline
}

extension NodeRecord {
    /// Milliseconds since the node's last heartbeat (by its own clock), never negative.
    public func heartbeatAge(now: Int64) -> Int64 { max(0, now - heartbeatAt) }

    /// Online while heartbeats arrive on time (three intervals of slack); stale while they are
    /// late; offline when the node said so or has been silent for thirty intervals (five
    /// minutes at the default 10 s).
    public func liveness(now: Int64) -> NodeLiveness {
        if state == .offline { return .offline }
        let age = heartbeatAge(now: now)
        let interval = max(1000, heartbeatIntervalMs)
        if age <= 3 * interval + 2000 { return .online }
        if age <= 30 * interval { return .stale }
        return .offline
    }
}
