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
    ///
    /// Saturating: the row is replicated, and although the store refuses out-of-range
    /// heartbeats, every node and `dagi status` compute this every second — a trap here would
    /// be a crash loop on every node at once.
    public func heartbeatAge(now: Int64) -> Int64 {
        let (age, overflow) = now.subtractingReportingOverflow(heartbeatAt)
        if overflow { return heartbeatAt < 0 ? .max : 0 }
        return max(0, age)
    }

    /// Online while heartbeats arrive on time (three intervals of slack); stale while they are
    /// late; offline when the node said so or has been silent for thirty intervals (five
    /// minutes at the default 10 s).
    public func liveness(now: Int64) -> NodeLiveness {
        if state == .offline { return .offline }
        let age = heartbeatAge(now: now)
        let interval = max(1000, heartbeatIntervalMs)
        if age <= Self.saturating(3, interval, plus: 2000) { return .online }
        if age <= Self.saturating(30, interval, plus: 0) { return .stale }
        return .offline
    }

    /// `factor * value + offset`, clamped to `Int64.max` instead of trapping.
    private static func saturating(_ factor: Int64, _ value: Int64, plus offset: Int64) -> Int64 {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow else { return .max }
        let (sum, overflowed) = product.addingReportingOverflow(offset)
        return overflowed ? .max : sum
    }
}
