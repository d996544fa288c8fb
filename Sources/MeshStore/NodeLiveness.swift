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
    /// Milliseconds since the node's last heartbeat (by its own clock), never negative. Rows
    /// come from peers: the arithmetic saturates instead of trapping on absurd values.
    public func heartbeatAge(now: Int64) -> Int64 {
        let (age, overflow) = now.subtractingReportingOverflow(heartbeatAt)
        return overflow ? (heartbeatAt < 0 ? .max : 0) : max(0, age)
    }

    /// The heartbeat interval the liveness rules use: at least 1 s, at most a day.
    var livenessInterval: Int64 { min(max(1000, heartbeatIntervalMs), 86_400_000) }

    /// Online while heartbeats arrive on time (three intervals of slack); stale while they are
    /// late; offline when the node said so or has been silent for thirty intervals (five
    /// minutes at the default 10 s).
    public func liveness(now: Int64) -> NodeLiveness {
        if state == .offline { return .offline }
        let age = heartbeatAge(now: now)
        if age <= 3 * livenessInterval + 2000 { return .online }
        if age <= 30 * livenessInterval { return .stale }
        return .offline
    }

    /// Until when (ms since 1970) the node counts as online without another heartbeat; nil when
    /// it is not online by its row.
    public var onlineUntil: Int64? {
        guard state != .offline else { return nil }
        let (until, overflow) = heartbeatAt.addingReportingOverflow(3 * livenessInterval + 2000)
        return overflow ? .max : until
    }
}
