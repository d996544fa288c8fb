/// How long each kind of history is kept. Everything the store holds is bounded by these
/// windows (or by the number of nodes, models and agents), so the database cannot grow
/// without bound.
public struct RetentionPolicy: Sendable, Equatable {
    /// Raw metric samples (default 24 h).
    public var rawSamplesMs: Int64
    /// Per-minute rollups (default 7 d, never longer than the hourly window).
    public var minuteRollupsMs: Int64
    /// Per-hour rollups (default 30 d).
    public var hourRollupsMs: Int64
    /// Usage ledger entries, one per request (default 35 d: a whole month of budget plus slack).
    public var usageMs: Int64
    /// Hourly usage rollups (default 400 d: a year of cost history).
    public var usageRollupMs: Int64
    /// Change-log entries older than this are dropped even when some peer may lack them; such
    /// a peer then bootstraps from a snapshot (default 24 h).
    public var changeLogMs: Int64

    public init(
        rawSamplesMs: Int64 = 86_400_000, minuteRollupsMs: Int64 = 7 * 86_400_000, hourRollupsMs: Int64 = 30 * 86_400_000,
        usageMs: Int64 = 35 * 86_400_000, usageRollupMs: Int64 = 400 * 86_400_000, changeLogMs: Int64 = 86_400_000
    ) {
        self.rawSamplesMs = rawSamplesMs
        self.minuteRollupsMs = min(minuteRollupsMs, hourRollupsMs)
        self.hourRollupsMs = hourRollupsMs
        self.usageMs = usageMs
        self.usageRollupMs = max(usageRollupMs, usageMs)
        self.changeLogMs = changeLogMs
    }
}

/// What one retention pass removed.
public struct PruneResult: Sendable, Equatable {
    public var samples = 0
    public var rollups = 0
    public var usage = 0
    public var changes = 0
    public init() {}
}
