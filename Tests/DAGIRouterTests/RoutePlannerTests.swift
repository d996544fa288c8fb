import MeshStore
import Testing
@testable import DAGIRouter

/// Ranking and planning without a store or a process: snapshots built by hand.
@Suite struct RoutePlannerTests {
    let health = HealthTracker(cooldownAfter: 2, cooldown: .seconds(30))

    func snapshot(models: [ModelRecord], swapper: ModelCatalog.SwapperNames = [:], aliases: [String: [String]] = [:], agents: [AgentRecord] = []) -> ModelCatalog.Snapshot {
        var snapshot = ModelCatalog.Snapshot()
        snapshot.localNode = "here"
        snapshot.ollamaURL = "http://127.0.0.1:11434"
        snapshot.swapperNames = swapper
        snapshot.aliases = aliases
        snapshot.nodeURLs = ["here": "http://127.0.0.1:7007", "peer": "http://10.0.0.2:7007", "far": "http://10.0.0.3:7007"]
        for model in models { snapshot.models[model.name, default: []].append(model) }
        for agent in agents { snapshot.agents[agent.name] = agent }
        snapshot.names = Array(Set(aliases.keys).union(swapper.keys).union(snapshot.models.keys)).sorted()
        return snapshot
    }

    @Test func loadedHereBeatsLoadedOnAPeerBeatsStartable() throws {
        let snapshot = snapshot(
            models: [
                ModelRecord(nodeID: "here", source: .swapper, name: "smol", state: .available),
                ModelRecord(nodeID: "peer", source: .swapper, name: "smol", state: .loaded),
                ModelRecord(nodeID: "far", source: .ollama, name: "smol", state: .available),
            ],
            swapper: ["smol": "smol"]
        )
        let plan = try snapshot.plan("smol", agent: nil, health: health)
        #expect(plan.map(\.candidate.node) == ["peer", "here", "far"])
        #expect(plan.map(\.candidate.route) == ["remote:peer", "local", "remote:far"])
        #expect(plan[1].candidate.place == .swapper)
    }

    @Test func aliasesKeepTheirOrderWithinARank() throws {
        let snapshot = snapshot(
            models: [
                ModelRecord(nodeID: "here", source: .ollama, name: "qwen", state: .loaded),
                ModelRecord(nodeID: "here", source: .ollama, name: "llama", state: .loaded),
            ],
            aliases: ["fast": ["llama", "qwen"]]
        )
        let plan = try snapshot.plan("fast", agent: nil, health: health)
        #expect(plan.map(\.candidate.model) == ["llama", "qwen"])
        #expect(plan.map(\.aliasIndex) == [0, 1])
    }

    @Test func theAgentsNodesBreakTiesAndCoolingCandidatesGoLast() throws {
        var snapshot = snapshot(
            models: [
                ModelRecord(nodeID: "peer", source: .swapper, name: "m", state: .loaded),
                ModelRecord(nodeID: "far", source: .swapper, name: "m", state: .loaded),
            ],
            agents: [AgentRecord(name: "atlas", preferNodes: ["far"])]
        )
        snapshot.preferences = ["atlas": ["far"]]
        #expect(try snapshot.plan("m", agent: "atlas", health: health).map(\.candidate.node) == ["far", "peer"])
        let far = try snapshot.plan("m", agent: "atlas", health: health)[0].candidate.key
        health.failed(far, reason: "boom")
        health.failed(far, reason: "boom")
        let cooled = try snapshot.plan("m", agent: "atlas", health: health, explain: true)
        #expect(cooled.map(\.candidate.node) == ["peer", "far"])
        #expect(cooled[1].coolingDown && cooled[1].why.contains("cooling down"))
    }

    @Test func policyAndUnknownNames() throws {
        let snapshot = snapshot(
            models: [ModelRecord(nodeID: "here", source: .ollama, name: "qwen2.5:7b", state: .loaded)],
            agents: [AgentRecord(name: "narrow", allowedModels: ["other"])]
        )
        #expect(throws: PlanError.self) { try snapshot.plan("qwen2.5:7b", agent: "narrow", health: health) }
        do {
            _ = try snapshot.plan("qwen2.5:7", agent: nil, health: health)
            Issue.record("an unknown name must not plan")
        } catch .unknownModel(_, let suggestions) {
            #expect(suggestions == ["qwen2.5:7b"])
        } catch {
            Issue.record("\(error)")
        }
    }

    /// A pin reaches a provider's known ids only (any other would be a new health entry and
    /// an unpriced cost each time), and only for an agent whose record says it may.
    @Test func cloudPinsNeedAKnownIdAndAnAgentAllowedTheCloud() throws {
        var snapshot = snapshot(models: [], agents: [AgentRecord(name: "free", allowCloud: true), AgentRecord(name: "kept")])
        snapshot.cloud = CloudProviders(providers: ["openai": ProviderConfig(kind: .openai, keyEnv: "K")], models: [:], environment: ["K": "sk-test"])
        let plan = try snapshot.plan("openai/gpt-4.1-mini", agent: "free", health: health)
        #expect(plan.map(\.candidate.route) == ["cloud:openai"])
        #expect(throws: PlanError.self) { try snapshot.plan("openai/gpt-4.1-mini-\(String(repeating: "x", count: 200))", agent: "free", health: health) }
        for agent in ["kept", "deleted-somewhere"] {
            do {
                _ = try snapshot.plan("openai/gpt-4.1-mini", agent: agent, health: health)
                Issue.record("\(agent) must not reach the cloud")
            } catch .cloudNotAllowed(_, let refused) {
                #expect(refused == agent)
            } catch {
                Issue.record("\(agent): \(error)")
            }
        }
        #expect(snapshot.cloudWithheld("openai/gpt-4.1-mini", agent: "free") == [])
    }

    @Test func aHopIsServedHereOnlyWithTheModelItNamed() throws {
        let snapshot = snapshot(
            models: [
                ModelRecord(nodeID: "here", source: .swapper, name: "smol", state: .loaded),
                ModelRecord(nodeID: "peer", source: .swapper, name: "smol", state: .loaded),
            ],
            swapper: ["smol": "smol", "tiny": "smol"],
            aliases: ["fast": ["smol"]]
        )
        let plan = try snapshot.plan("fast", agent: nil, forced: "smol", localOnly: true, health: health)
        #expect(plan.map(\.candidate.node) == ["here"])
        #expect(throws: PlanError.self) { try snapshot.plan("x", agent: nil, forced: "missing", localOnly: true, health: health) }
    }

    // MARK: - Expected wait

    /// `smol` loaded here and on `peer`, one slot each, one second a request measured here.
    func pooled(peerLoad: ModelLoadRecord? = nil, margin: Double = 0.2) -> ModelCatalog.Snapshot {
        var snapshot = snapshot(
            models: [
                ModelRecord(nodeID: "here", source: .swapper, name: "smol", state: .loaded),
                ModelRecord(nodeID: "peer", source: .swapper, name: "smol", state: .loaded),
            ],
            swapper: ["smol": "smol"]
        )
        snapshot.localSlots = ["smol": 1]
        snapshot.spillMargin = margin
        if let peerLoad { snapshot.loads["peer/swapper/smol"] = peerLoad }
        return snapshot
    }

    func load(outstanding: Int, serviceMs: Double? = 1000, at: Int64 = 1_000) -> ModelLoadRecord {
        ModelLoadRecord(
            nodeID: "peer", source: .swapper, name: "smol", slots: 1, inflight: min(outstanding, 1), queued: max(0, outstanding - 1),
            serviceMs: serviceMs, at: at
        )
    }

    let here = Candidate(node: "here", place: .swapper, model: "smol", source: .swapper, loaded: true, baseURL: "")
    let peer = Candidate(node: "peer", place: .remote, model: "smol", source: .swapper, loaded: true, baseURL: "http://10.0.0.2:7007")
    let measured = ExpectedWait(outstanding: 0, slots: 1, service: 1, source: .measured, hop: 0, loaded: true)

    @Test func anIdleNodeKeepsItsRequestsAndABusyOneSpills() throws {
        let snapshot = pooled(peerLoad: load(outstanding: 0))
        health.served(here.key, seconds: 1, wait: measured)
        // Nothing in flight: a tie, and here wins it.
        #expect(try snapshot.plan("smol", agent: nil, health: health).map(\.candidate.route) == ["local", "remote:peer"])
        // One request here: the next would wait a second; the peer is free.
        health.begin(here, now: 2_000)
        let busy = try snapshot.plan("smol", agent: nil, health: health, explain: true)
        #expect(busy.map(\.candidate.route) == ["remote:peer", "local"])
        #expect(busy[1].wait?.ahead == 1 && busy[1].wait?.seconds == 1)
        #expect(busy[1].why.contains("expected wait 1.00 s"), "\(busy[1].why)")
        // The request sent there counts against the peer until it publishes again: one here, one
        // there, and the peer must be 20 % faster to win.
        health.begin(peer, now: 2_001)
        #expect(try snapshot.plan("smol", agent: nil, health: health).map(\.candidate.route) == ["local", "remote:peer"])
        // Two here: one second of wait there beats two here.
        health.begin(here, now: 2_002)
        #expect(try snapshot.plan("smol", agent: nil, health: health).map(\.candidate.route) == ["remote:peer", "local"])
        health.end(here, sentAt: 2_000)
        health.end(here, sentAt: 2_002)
        health.end(peer, sentAt: 2_001)
        #expect(health.stats(peer.key).sentAt.isEmpty && health.stats(peer.key).inflight == 0)
    }

    @Test func aPeersPublishedLoadKeepsRequestsHereWithinTheMargin() throws {
        health.served(here.key, seconds: 1, wait: measured)
        health.begin(here, now: 2_000)
        defer { health.end(here, sentAt: 2_000) }
        // The peer runs a long generation: equal waits, so the request stays here.
        #expect(try pooled(peerLoad: load(outstanding: 1)).plan("smol", agent: nil, health: health).map(\.candidate.route) == ["local", "remote:peer"])
        // The peer is a little faster (0.9 s), but not by the 20 % margin.
        #expect(try pooled(peerLoad: load(outstanding: 1, serviceMs: 900)).plan("smol", agent: nil, health: health)[0].candidate.route == "local")
        // Without a margin it wins.
        #expect(try pooled(peerLoad: load(outstanding: 1, serviceMs: 900), margin: 0).plan("smol", agent: nil, health: health)[0].candidate.route == "remote:peer")
        // Much faster (0.5 s): it wins with the margin.
        #expect(try pooled(peerLoad: load(outstanding: 1, serviceMs: 500)).plan("smol", agent: nil, health: health)[0].candidate.route == "remote:peer")
        // A peer claiming thousands of free slots is believed up to 64.
        var claims = load(outstanding: 0)
        claims.slots = 4096
        #expect(try pooled(peerLoad: claims).plan("smol", agent: nil, health: health).first { $0.candidate.node == "peer" }?.wait?.slots == 64)
    }

    @Test func aModelLoadedSomewhereBeatsStartingAnotherOfTheAlias() throws {
        var snapshot = snapshot(
            models: [
                ModelRecord(nodeID: "here", source: .swapper, name: "big", state: .available),
                ModelRecord(nodeID: "peer", source: .swapper, name: "small", state: .loaded),
            ],
            swapper: ["big": "big"], aliases: ["fast": ["big", "small"]]
        )
        snapshot.localSlots = ["big": 1]
        // However busy the peer's `small` is, `big` is not started for it: the alias's models
        // keep their order (a loaded one first), and the wait ranks the places of one model.
        snapshot.loads["peer/swapper/small"] = ModelLoadRecord(
            nodeID: "peer", source: .swapper, name: "small", slots: 1, inflight: 1, queued: 100, serviceMs: 1000, at: 1_000
        )
        #expect(try snapshot.plan("fast", agent: nil, health: health).map(\.candidate.model) == ["small", "big"])
        // A loaded model cooling down after failures does not count as loaded: `big` is not
        // started while `small` (loaded here) can serve.
        var cooling = self.snapshot(
            models: [
                ModelRecord(nodeID: "peer", source: .swapper, name: "big", state: .loaded),
                ModelRecord(nodeID: "here", source: .swapper, name: "big", state: .available),
                ModelRecord(nodeID: "here", source: .ollama, name: "small", state: .loaded),
            ],
            swapper: ["big": "big"], aliases: ["fast": ["big", "small"]]
        )
        cooling.localSlots = ["big": 1]
        for _ in 0..<2 { health.failed("peer/swapper/big", reason: "boom") }
        #expect(try cooling.plan("fast", agent: nil, health: health).map(\.candidate.route) == ["local", "local", "remote:peer"])
        #expect(try cooling.plan("fast", agent: nil, health: health).first?.candidate.model == "small")
    }

    @Test func aPeerAnsweringSlowerThanItSaysIsPenalisedByItsHop() throws {
        let snapshot = pooled(peerLoad: load(outstanding: 0, serviceMs: 500))
        let before = try snapshot.plan("smol", agent: nil, health: health).first { $0.candidate.node == "peer" }!.wait!
        #expect(before.serviceSource == .peer && before.hopSeconds == 0)
        // It answered in 2.5 s what it says takes 0.5 s: 2 s beyond, every time.
        for _ in 0..<20 { health.served(peer.key, seconds: 2.5, wait: before) }
        let after = try snapshot.plan("smol", agent: nil, health: health).first { $0.candidate.node == "peer" }!.wait!
        #expect(after.hopSeconds > 1.9 && after.hopSeconds <= 2.0, "\(after)")
        // It fades by half a minute later, so the peer is tried again in time.
        var faded = health.stats(peer.key)
        faded.hopMeasured = faded.hopMeasured.map { $0 - .seconds(60) }
        #expect(abs((faded.hop(at: .now) ?? 0) - after.hopSeconds / 2) < 0.01)
    }

    @Test func waitsShareTheSlotsAndAStartCostsALoad() {
        #expect(ExpectedWait(outstanding: 4, slots: 4, service: 2, source: .measured, hop: 0, loaded: true).ahead == 0.25)
        #expect(ExpectedWait(outstanding: 3, slots: 4, service: 2, source: .measured, hop: 0, loaded: true).seconds == 0)
        #expect(ExpectedWait(outstanding: 0, slots: 1, service: 2, source: .measured, hop: 0, loaded: false).seconds == ExpectedWait.assumedLoad)
        // A wait observed with two requests' work ahead is three service times.
        let health = HealthTracker(cooldownAfter: 2, cooldown: .seconds(30))
        health.served("k", seconds: 3, wait: ExpectedWait(outstanding: 2, slots: 1, service: 1, source: .measured, hop: 0, loaded: true))
        #expect(health.stats("k").service == 1)
    }

    @Test func aPeersCountsAreCorrectedByWhatWasSentSinceTheyWerePublished() throws {
        health.begin(peer, now: 500)
        health.begin(peer, now: 1_500)
        defer { health.end(peer, sentAt: 500); health.end(peer, sentAt: 1_500) }
        // Published at 1000 with one request: the one sent at 500 is in it, the one at 1500 is not.
        let wait = try pooled(peerLoad: load(outstanding: 1)).plan("smol", agent: nil, health: health).first { $0.candidate.node == "peer" }!.wait!
        #expect(wait.outstanding == 2)
        // Nothing published: this node's own requests in flight are all it knows.
        let unknown = try pooled().plan("smol", agent: nil, health: health).first { $0.candidate.node == "peer" }!.wait!
        #expect(unknown.outstanding == 2 && unknown.serviceSource == .assumed)
        // A peer claiming fewer than this node has in flight there is not believed.
        let claimsIdle = try pooled(peerLoad: load(outstanding: 0, at: 2_000)).plan("smol", agent: nil, health: health).first { $0.candidate.node == "peer" }!.wait!
        #expect(claimsIdle.outstanding == 2)
    }
}

@Suite struct CostHeaderTests {
    /// The header's digits are `%.8f`'s, without Foundation's formatter.
    @Test func dollarsReadAsPrintfWould() {
        for value in [0, 1e-8, 0.0000176, 0.00123456789, 0.5, 1, 12.3456789, 1234.00000001, 0.000000005] {
            #expect(Metered.dollars(value) == String(format: "%.8f", value), "\(value)")
        }
        #expect(Metered.dollars(-1) == "0.00000000")
        #expect(Metered.dollars(.nan) == "0.00000000")
    }
}
