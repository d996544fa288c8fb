import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Synchronization
import Testing

/// Replication between real guardians on loopback.
@Suite(.serialized) struct SyncConvergenceTests {
    /// Three nodes, each writing metrics (its start-up heartbeat), a model state change (its
    /// Ollama loads a model) and an agent assignment: all stores end identical.
    @Test func threeNodesConverge() async throws {
        let root = TemporaryDirectory()
        let ids = ["a", "b", "c"]
        var ollamas: [String: MutableMockOllama] = [:]
        var extra: [String: String] = [:]
        for id in ids {
            let ollama = try await MutableMockOllama.start(models: [
                .init(name: "model-\(id)", size: 1_000_000, family: "llama", parameterSize: "1B", quantization: "Q4_0", loaded: false)
            ])
            ollamas[id] = ollama
            extra[id] = "ollama:\n  url: \(ollama.server.baseURL)\n  refresh: 200ms"
        }
        let nodes = try MeshHarness.make(
            root: root, ids: ids, links: ["a": ["b", "c"], "b": ["a", "c"], "c": ["a", "b"]], extra: extra
        )
        let all = ids.map { nodes[$0]! }
        try await withGuardians(all) {
            for node in all { try await node.start() }
            for id in ids {
                ollamas[id]!.setLoaded("model-\(id)", true)
                try await MeshHarness.putAgent(nodes[id]!, "agent-\(id)", ["tier": "pro", "assign": .array([.string(id)])])
            }
            try await poll(timeout: .seconds(20), "every model loaded everywhere") {
                for node in all {
                    let models = try await node.store().models()
                    guard models.count == 3, models.allSatisfy({ $0.state == .loaded }) else { return false }
                }
                return true
            }
            let rows = try await MeshHarness.awaitConvergence(all)
            for id in ids {
                #expect(rows.contains { $0.hasPrefix("node|\(id)|") })
                #expect(rows.contains { $0.hasPrefix("agent|agent-\(id)|pro|") })
                #expect(rows.contains { $0.hasPrefix("assignment|agent-\(id)|\(id)|") })
                #expect(rows.contains { $0.hasPrefix("metric_sample|\(id)|mem_used_bytes|") })
                #expect(rows.contains { $0.hasPrefix("model|\(id)|ollama|model-\(id)|") && $0.contains("|loaded|") })
            }
            // Each node knows when changes from the others last arrived.
            let (_, out, _) = try await Binaries.run("dagi", ["status", "--json", "--data-dir", nodes["a"]!.dataDirectory])
            let status = try JSONValue.parse(Array(out.utf8))
            let remote = (status["nodes"]?.arrayValue ?? []).filter { $0["local"] == false }
            #expect(remote.count == 2)
            #expect(remote.allSatisfy { $0["last_change_age_ms"]?.intValue != nil && $0["state"] == "online" })
            for ollama in ollamas.values { await ollama.server.stop() }
        }
    }

    /// SIGSTOP one of three nodes; the other two keep writing and syncing; SIGCONT; everything
    /// converges and nothing written during the partition is lost.
    @Test func survivesAPartition() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["a", "b", "c"], links: ["a": ["b", "c"], "b": ["a", "c"], "c": ["a", "b"]])
        let (a, b, c) = (nodes["a"]!, nodes["b"]!, nodes["c"]!)
        try await withGuardians([a, b, c]) {
            for node in [a, b, c] { try await node.start() }
            try await MeshHarness.awaitConvergence([a, b, c])

            c.signal(SIGSTOP)
            for i in 0..<15 {
                try await MeshHarness.putAgent(a, "from-a-\(i)", ["tier": "pro", "assign": ["a"]])
                try await MeshHarness.putAgent(b, "from-b-\(i)", ["tier": "batch", "assign": ["b"]])
            }
            // The two live nodes keep syncing with each other meanwhile; the stopped one has none of it.
            try await MeshHarness.awaitConvergence([a, b])
            // An agent b created is a's to serve now: its heartbeat lands on a.
            #expect(try await HTTP.send("POST", a.baseURL + "/v1/agents/from-b-0/heartbeat").status == 200)
            #expect(try await c.store().agent(named: "from-a-0") == nil)
            // `dagi peers` on a shows c unreachable, with the error.
            try await poll(timeout: .seconds(15), "a to notice c is unreachable") {
                let (_, out, _) = try await Binaries.run("dagi", ["peers", "--json", "--data-dir", a.dataDirectory])
                let peers = try JSONValue.parse(Array(out.utf8))["peers"]?.arrayValue ?? []
                let toC = peers.first { $0["url"]?.stringValue == c.baseURL }
                return toC?["state"] == "unreachable" && toC?["last_error"]?.stringValue?.isEmpty == false
            }
            c.signal(SIGCONT)

            let rows = try await MeshHarness.awaitConvergence([a, b, c])
            let agents = rows.filter { $0.hasPrefix("agent|from-") }
            #expect(agents.count == 30)
            #expect(rows.filter { $0.hasPrefix("assignment|from-") }.count == 30)
            try await poll(timeout: .seconds(15), "a to see c again") {
                let (_, out, _) = try await Binaries.run("dagi", ["peers", "--json", "--data-dir", a.dataDirectory])
                let peers = try JSONValue.parse(Array(out.utf8))["peers"]?.arrayValue ?? []
                return peers.count == 2 && peers.allSatisfy { $0["state"] == "reachable" && $0["lag"]?.intValue == 0 }
            }
            let counts = try await [a, b, c].asyncMap { try await $0.store().rowCounts() }
            for table in ["node", "agent", "assignment", "agent_presence", "metric_sample"] {
                #expect(Set(counts.map { $0[table] }).count == 1, "\(table): \(counts.map { $0[table] ?? -1 })")
            }
        }
    }

    /// A–B–C with no A–C link: changes from each end reach the other through B.
    @Test func chainConverges() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["a", "b", "c"], links: ["a": ["b"], "b": ["a", "c"], "c": ["b"]])
        let (a, b, c) = (nodes["a"]!, nodes["b"]!, nodes["c"]!)
        try await withGuardians([a, b, c]) {
            for node in [a, b, c] { try await node.start() }
            try await MeshHarness.putAgent(a, "written-on-a", ["tier": "a"])
            try await MeshHarness.putAgent(c, "written-on-c", ["tier": "c"])
            let rows = try await MeshHarness.awaitConvergence([a, b, c])
            #expect(rows.contains { $0.hasPrefix("agent|written-on-a|a|") })
            #expect(rows.contains { $0.hasPrefix("agent|written-on-c|c|") })
            #expect(rows.contains { $0.hasPrefix("node|a|") } && rows.contains { $0.hasPrefix("node|c|") })
            // A and C never talked: neither lists the other.
            #expect(try await a.store().peers().map(\.url) == [b.baseURL])
            #expect(try await c.store().peers().map(\.url) == [b.baseURL])

            // A clean shutdown of c reaches a through b at once: c pushes its "offline" row on the way out.
            #expect(try await c.stop() == 0)
            try await poll(timeout: .seconds(10), "a to learn c went offline") {
                try await a.store().state().nodes.first { $0.id == "c" }?.state == .offline
            }

            // A peer added at run time with `dagi peers add` is picked up by the running guardian.
            let (code, _, err) = try await Binaries.run("dagi", ["peers", "add", b.baseURL + "/", "--data-dir", c.dataDirectory])
            #expect(code == 0, "\(err)")
            let other = try GuardianProcess(nodeID: "d", root: root.path, environment: ["DAGI_MESH_SECRET": MeshHarness.secret])
            try await withGuardians([other]) {
                try await other.start()
                #expect(try await Binaries.run("dagi", ["peers", "add", a.baseURL, "--data-dir", other.dataDirectory]).0 == 0)
                try await poll(timeout: .seconds(15), "d to sync with a after `dagi peers add`") {
                    try await other.store().agent(named: "written-on-c") != nil
                }
                let (_, out, _) = try await Binaries.run("dagi", ["peers", "--data-dir", other.dataDirectory])
                #expect(out.contains(a.baseURL) && out.contains("reachable") && out.contains("cli"))
            }
        }
    }

    /// The same agent edited on both sides of a partition ends identical everywhere, the later
    /// HLC winning.
    @Test func concurrentEditsResolveToTheLaterWrite() async throws {
        let root = TemporaryDirectory()
        let portA = try FreePort.allocate(), portB = try FreePort.allocate()
        let toA = try await CuttableProxy(target: "http://127.0.0.1:\(portA)")
        let toB = try await CuttableProxy(target: "http://127.0.0.1:\(portB)")
        let nodes = try MeshHarness.make(root: root, ids: ["a", "b"], links: [:], peerURLs: ["a": [toB.baseURL], "b": [toA.baseURL]])
        let a = try GuardianProcess(nodeID: "a", root: root.path, port: portA, arguments: nodes["a"]!.arguments, environment: nodes["a"]!.environment)
        let b = try GuardianProcess(nodeID: "b", root: root.path, port: portB, arguments: nodes["b"]!.arguments, environment: nodes["b"]!.environment)
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            try await MeshHarness.putAgent(a, "shared", ["tier": "initial"])
            try await MeshHarness.awaitConvergence([a, b])

            toA.setCut(true)
            toB.setCut(true)
            try await MeshHarness.putAgent(a, "shared", ["tier": "edited-on-a", "allow_cloud": true])
            // b's edit must be later in time than a's: wait until the wall clock has moved past it.
            let stampA = try #require(try await a.store().agent(named: "shared")).hlc
            try await poll(timeout: .seconds(2), "the clock to pass a's edit") {
                HybridLogicalClock.systemMilliseconds() > stampA.milliseconds
            }
            try await MeshHarness.putAgent(b, "shared", ["tier": "edited-on-b"])
            #expect(try await a.store().agent(named: "shared")?.tier == "edited-on-a")
            #expect(try await b.store().agent(named: "shared")?.tier == "edited-on-b")

            toA.setCut(false)
            toB.setCut(false)
            try await MeshHarness.awaitConvergence([a, b])
            let winner = try #require(try await a.store().agent(named: "shared"))
            #expect(winner.tier == "edited-on-b")
            #expect(winner.origin == "b")
            // Last writer wins per row, whole: b's edit did not set allow_cloud.
            #expect(winner.allowCloud == false)
            #expect(try await b.store().agent(named: "shared") == winner)
        }
        await toA.server.stop()
        await toB.server.stop()
    }
}

/// A mock Ollama whose models can be loaded and unloaded while it runs.
final class MutableMockOllama: Sendable {
    let server: MockServer
    private let models: Locked<[MockOllama.Model]>

    private init(server: MockServer, models: Locked<[MockOllama.Model]>) {
        self.server = server
        self.models = models
    }

    static func start(models initial: [MockOllama.Model]) async throws -> MutableMockOllama {
        let models = Locked(initial)
        let server = try await MockServer { router in
            router.get("/api/tags") { _, _ in MockOllama.json(["models": .array(models.value.map(MockOllama.describe))]) }
            router.get("/api/ps") { _, _ in
                MockOllama.json(["models": .array(models.value.filter(\.loaded).map(MockOllama.describe))])
            }
        }
        return MutableMockOllama(server: server, models: models)
    }

    func setLoaded(_ name: String, _ loaded: Bool) {
        models.withLock { models in
            for i in models.indices where models[i].name == name { models[i].loaded = loaded }
        }
    }
}
