import Foundation
import MeshCore
import MeshHTTP
import MeshStore
import Testing

/// What a model process inherits and what happens to it when its guardian dies. (Extensions of
/// ``SwapperTests``: one serialized suite, one `--filter SwapperTests`.)
extension SwapperTests {
    /// What the guardian holds and no model server may see.
    static let secrets = [
        "DAGI_MESH_SECRET": "mesh-secret-never-shared", "DAGI_KEY_ATLAS": "sk-atlas-never-shared",
        "OPENAI_API_KEY": "sk-provider-never-shared",
    ]

    static func guardianWithSecrets(_ root: TemporaryDirectory, _ section: String) throws -> GuardianProcess {
        let config = root.path + "/node.yaml"
        try ("metrics:\n  interval: 1h\n" + section).write(toFile: config, atomically: true, encoding: .utf8)
        return try GuardianProcess(nodeID: "proc", root: root.path, arguments: ["--config", config], environment: secrets)
    }

    static func loadModel(_ node: GuardianProcess, _ model: String) async throws {
        let reply = try await HTTP.post(node.baseURL + "/swapper/load", json: ["model": .string(model)], timeout: .seconds(120))
        #expect(reply.status == 200, "\(reply.text)")
    }

    static func environment(of pid: Int32) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        var environment: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if let eq = text.firstIndex(of: "=") { environment[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        }
        return environment
    }

    /// Model servers start with PATH, HOME, LANG, TMPDIR and their own `env:` — never the mesh
    /// secret, an agent's key or a provider key the guardian holds.
    @Test func modelServersGetNoSecrets() async throws {
        let root = TemporaryDirectory()
        let dump = root.path + "/env.txt"
        let extra = """
                envdump:
                  cmd: sh -c 'env > \(dump); exec python3 \(Self.mock) --port ${PORT} --mode ok --name envdump'
                  env: { MODEL_SETTING: "on" }
            """
        let node = try Self.guardianWithSecrets(root, try RealModels.swapperSection(extraModels: extra))
        try await withGuardians([node]) {
            try await node.start()
            try await Self.loadModel(node, "envdump")
            let dumped = try String(contentsOfFile: dump, encoding: .utf8)
            #expect(dumped.contains("MODEL_SETTING=on"))
            #expect(dumped.contains("PATH="))
            // And a real llama-server, read from the kernel while it runs.
            try await Self.loadModel(node, "smollm2")
            let pid = try #require(try await Self.running(node)["smollm2"]?["pid"]?.intValue)
            let live = try Self.environment(of: Int32(pid))
            #expect(live["PATH"] != nil)
            for (name, value) in Self.secrets {
                #expect(!dumped.contains(value), "\(name) leaked to a model: \(dumped)")
                #expect(live[name] == nil, "\(name) leaked to llama-server")
            }
            #expect(Set(live.keys).isSubset(of: ["PATH", "HOME", "LANG", "TMPDIR"]), "\(live.keys.sorted())")
        }
    }

    /// `kill -9` of the guardian with a model loaded: the kernel stops the model server
    /// (PR_SET_PDEATHSIG), and after a restart no model server is left.
    @Test func aGuardianKilledWithSIGKILLLeavesNoModelServer() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardianWithSecrets(root, try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            try await Self.loadModel(node, "smollm2")
            let pid = try #require(try await Self.running(node)["smollm2"]?["pid"]?.intValue)
            try await node.kill9()
            try await poll(timeout: .seconds(15), "the model server to die with its guardian") { !ProcessTable.isAlive(Int32(pid)) }
            try await node.start()
            #expect(!ProcessTable.isAlive(Int32(pid)))
            #expect(ProcessTable.llamaServers(childrenOf: node.pid).isEmpty)
            #expect(try await Self.running(node)["smollm2"]?["state"] == "available")
            #expect(try await Self.chat(node, "smollm2").status == 200, "and it starts again on demand")
        }
    }

    /// A model server that survives its guardian (it cleared the death signal the guardian asked
    /// the kernel for, and ignores SIGTERM) is found in the node's own ledger at the next start,
    /// recognised, and stopped.
    @Test func theNextStartReapsAProcessThePreviousRunLeft() async throws {
        let root = TemporaryDirectory()
        let section = """
            swapper:
              start_port: \(Self.randomPort())
              stop_timeout: 1s
              models:
                stubborn:
                  cmd: sh -c 'trap "" TERM; exec python3 \(Self.mock) --port ${PORT} --mode ok --name stubborn --outlive-parent'
            """
        let node = try Self.guardianWithSecrets(root, section)
        try await withGuardians([node]) {
            try await node.start()
            try await Self.loadModel(node, "stubborn")
            let pid = try #require(try await Self.running(node)["stubborn"]?["pid"]?.intValue)
            try await node.kill9()
            defer { kill(pid_t(pid), SIGKILL) }
            #expect(ProcessTable.isAlive(Int32(pid)), "it outlived its guardian: only the reaper can stop it")
            try await node.start()
            #expect(!ProcessTable.isAlive(Int32(pid)), "stopped before the node answered")
            #expect(node.logTail(200).contains("stopped a model process left by a previous run"))
        }
    }

    /// A pid in the store's model rows — which replicate, so a peer could forge them — is never
    /// killed, even when its command line looks like the model's.
    @Test func aPidInTheStoreIsNeverKilled() async throws {
        let root = TemporaryDirectory()
        let llama = try RealModels.llamaServer(), model = try RealModels.smollm2()
        let section = """
            swapper:
              start_port: \(Self.randomPort())
              models:
                smollm2:
                  cmd: \(llama) -m \(model) --port ${PORT} --host 127.0.0.1 -t 1 -c 512
            """
        let node = try Self.guardianWithSecrets(root, section)
        // Looks like a llama-server (argv[0]), is not one, and is not ours.
        let decoy = Process()
        decoy.executableURL = URL(fileURLWithPath: "/bin/bash")
        decoy.arguments = ["-c", "exec -a llama-server sleep 300"]
        try decoy.run()
        defer { kill(decoy.processIdentifier, SIGKILL) }
        try await withGuardians([node]) {
            try await node.start()
            try await node.stop()
            let store = try node.openStore()
            try store.writeNow { writer in
                try writer.put(ModelRecord(
                    nodeID: "proc", source: .swapper, name: "smollm2", state: .loaded, pid: Int(decoy.processIdentifier), port: 1
                ))
            }
            try await node.start()
            #expect(ProcessTable.isAlive(decoy.processIdentifier), "the decoy named in the store is alive")
        }
    }
}
