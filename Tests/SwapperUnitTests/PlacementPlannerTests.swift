import Testing
@testable import Swapper

/// Which models must go before a newcomer loads — decided without a single process.
@Suite struct PlacementPlannerTests {
    static let t0 = ContinuousClock.now
    static let mib: Int64 = 1 << 20

    static func model(
        _ name: String, resident: Bool = true, busy: Bool = false, usedAt seconds: Int = 0, mib: Int64 = 100
    ) -> PlacementPlanner.Model {
        .init(name: name, resident: resident, busy: busy, lastUsed: t0 + .seconds(seconds), chargedBytes: mib * Self.mib)
    }

    @Test func exclusiveGroupMembersGoWhateverTheBudget() {
        let planner = PlacementPlanner(exclusiveGroups: [["a", "b", "c"]], persistent: ["b"], budget: nil)
        let models = [Self.model("a", resident: false), Self.model("b"), Self.model("c"), Self.model("d")]
        // Persistent does not protect from an exclusive group: that group is an explicit "one at a time".
        #expect(planner.plan(for: "a", among: models) == .evict(["b", "c"]))
        #expect(planner.plan(for: "d", among: models) == .evict([]), "not in the group: nothing to do")
    }

    @Test func aMemberThatIsNotLoadedIsNoVictim() {
        let planner = PlacementPlanner(exclusiveGroups: [["a", "b"]], persistent: [], budget: nil)
        #expect(planner.plan(for: "a", among: [Self.model("a", resident: false), Self.model("b", resident: false)]) == .evict([]))
    }

    @Test func theBudgetEvictsIdleModelsFirstLeastRecentlyUsedFirst() {
        let planner = PlacementPlanner(exclusiveGroups: [], persistent: [], budget: 300 * Self.mib)
        let models = [
            Self.model("new", resident: false),
            Self.model("busy-old", busy: true, usedAt: 1),
            Self.model("idle-recent", usedAt: 9),
            Self.model("idle-old", usedAt: 5),
        ]
        // 400 MiB with the newcomer: one 100 MiB model must go — the idle one used longest ago,
        // not the busy one even though it was used before both.
        #expect(planner.plan(for: "new", among: models) == .evict(["idle-old"]))
        let tighter = PlacementPlanner(exclusiveGroups: [], persistent: [], budget: 150 * Self.mib)
        #expect(tighter.plan(for: "new", among: models) == .evict(["idle-old", "idle-recent", "busy-old"]))
    }

    @Test func aModelAlreadyLeavingStaysTheVictim() {
        let planner = PlacementPlanner(exclusiveGroups: [], persistent: [], budget: 250 * Self.mib)
        // "serving" is ending its turn and was just used by its run; "idle-old" is idle and older.
        var serving = Self.model("serving", busy: true, usedAt: 9)
        serving.leaving = true
        let models = [Self.model("new", resident: false), serving, Self.model("idle-old", usedAt: 1)]
        // Planned again mid-turn, the plan keeps its victim instead of restarting with another.
        #expect(planner.plan(for: "new", among: models) == .evict(["serving"]))
    }

    @Test func modelsAreChargedTheirMeasuredSizeWhenLarger() {
        let planner = PlacementPlanner(exclusiveGroups: [], persistent: [], budget: 500 * Self.mib)
        // Estimated at 100 MiB, but measured at 450 MiB: charged 450, so a 100 MiB newcomer does not fit.
        let measured = PlacementPlanner.Model(name: "big", resident: true, busy: false, lastUsed: Self.t0, chargedBytes: 450 * Self.mib)
        #expect(planner.plan(for: "new", among: [Self.model("new", resident: false), measured]) == .evict(["big"]))
        #expect(planner.plan(for: "new", among: [Self.model("new", resident: false), Self.model("big")]) == .evict([]))
    }

    @Test func persistentModelsAreNeverEvictedForRoom() {
        let planner = PlacementPlanner(exclusiveGroups: [], persistent: ["keep"], budget: 250 * Self.mib)
        let models = [Self.model("new", resident: false), Self.model("keep", usedAt: 0), Self.model("other", usedAt: 9)]
        #expect(planner.plan(for: "new", among: models) == .evict(["other"]))
        let full = PlacementPlanner(exclusiveGroups: [], persistent: ["keep"], budget: 150 * Self.mib)
        guard case .impossible(let reason) = full.plan(for: "new", among: models) else {
            Issue.record("a newcomer that cannot fit beside a persistent model is refused")
            return
        }
        #expect(reason.contains("persistent") && reason.contains("150MiB"), "\(reason)")
    }

    @Test func exclusiveVictimsCountTowardsTheBudget() {
        let planner = PlacementPlanner(exclusiveGroups: [["new", "sibling"]], persistent: [], budget: 300 * Self.mib)
        let models = [Self.model("new", resident: false), Self.model("sibling", mib: 200), Self.model("other", mib: 100)]
        // The sibling goes for the group, which frees enough: "other" stays.
        #expect(planner.plan(for: "new", among: models) == .evict(["sibling"]))
    }

    @Test func hugeSizesSaturateInsteadOfTrapping() {
        let planner = PlacementPlanner(exclusiveGroups: [], persistent: [], budget: .max - 1)
        let huge = PlacementPlanner.Model(name: "huge", resident: true, busy: false, lastUsed: Self.t0, chargedBytes: .max)
        let other = PlacementPlanner.Model(name: "new", resident: false, busy: false, lastUsed: Self.t0, chargedBytes: .max)
        // With plain `+` this sum traps, and a trap is the node crashing.
        #expect(planner.plan(for: "new", among: [huge, other]) != .evict([]))
    }
}
