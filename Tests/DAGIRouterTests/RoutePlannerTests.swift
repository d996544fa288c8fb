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
