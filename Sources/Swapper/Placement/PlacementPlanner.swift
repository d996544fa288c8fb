import MeshCore

/// Decides what must be unloaded before a model can load.
///
/// 1. The other loaded (or loading) members of its exclusive groups — always, persistent or not:
///    an exclusive group is an explicit "one at a time".
/// 2. Then, while the memory budget would be exceeded: idle models before busy ones, least
///    recently used first (models already leaving before all), never a member of a persistent
///    group. Each model is charged the larger
///    of its configured estimate and its measured size, so a model bigger than its estimate
///    cannot overcommit the machine.
///
/// Pure: it sees a snapshot of the models and returns names, so every rule is unit-tested
/// without a process.
struct PlacementPlanner: Sendable {
    /// What the planner needs to know of one configured model.
    struct Model: Sendable, Equatable {
        var name: String
        /// Loaded or starting: its memory is spoken for.
        var resident: Bool
        /// Requests in flight or waiting for it.
        var busy: Bool
        /// When a lease on it was last taken or returned.
        var lastUsed: ContinuousClock.Instant
        /// Bytes charged against the budget: max(estimate, last measured size).
        var chargedBytes: Int64
        /// Its turn is already ending for this placement: it goes first, so a plan made again
        /// while victims serve their runs keeps the same victims instead of restarting a turn.
        var leaving = false
    }

    enum Decision: Equatable {
        /// Unload these, in this order (none: start at once).
        case evict([String])
        /// It cannot fit even after evicting everything the rules allow.
        case impossible(String)
    }

    let exclusiveGroups: [[String]]
    let persistent: Set<String>
    let budget: Int64?

    init(exclusiveGroups: [[String]], persistent: Set<String>, budget: Int64?) {
        self.exclusiveGroups = exclusiveGroups
        self.persistent = persistent
        self.budget = budget
    }

    init(config: SwapperConfig) {
        let groups = config.groups.sorted { $0.key < $1.key }.map(\.value)
        self.init(
            exclusiveGroups: groups.filter(\.exclusive).map(\.members),
            persistent: Set(groups.filter(\.persistent).flatMap(\.members)),
            budget: config.memoryBudget?.bytes
        )
    }

    func plan(for newcomer: String, among models: [Model]) -> Decision {
        var victims: [String] = []
        let resident = Set(models.filter(\.resident).map(\.name))
        for group in exclusiveGroups where group.contains(newcomer) {
            for member in group where member != newcomer && resident.contains(member) && !victims.contains(member) {
                victims.append(member)
            }
        }
        guard let budget else { return .evict(victims) }
        let needed = models.first { $0.name == newcomer }?.chargedBytes ?? 0
        var others = models.filter { $0.resident && $0.name != newcomer && !victims.contains($0.name) }
        var total = others.reduce(needed) { $0.saturatingAdd($1.chargedBytes) }
        // Already leaving first, then idle, then least recently used; the name breaks ties so
        // the plan is stable.
        others.sort { a, b in
            if a.leaving != b.leaving { return a.leaving }
            if a.busy != b.busy { return !a.busy }
            if a.lastUsed != b.lastUsed { return a.lastUsed < b.lastUsed }
            return a.name < b.name
        }
        for candidate in others where total > budget && !persistent.contains(candidate.name) {
            victims.append(candidate.name)
            total = total.saturatingSubtract(candidate.chargedBytes)
        }
        guard total <= budget else {
            return .impossible(
                "it needs \(ByteSize.format(needed)); with the models that cannot be evicted (persistent groups), "
                    + "\(ByteSize.format(total)) exceeds the \(ByteSize.format(budget)) memory budget"
            )
        }
        return .evict(victims)
    }
}

extension Int64 {
    /// Sums of sizes saturate instead of trapping: a trap here would be a crash of the node.
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : difference
    }
}
