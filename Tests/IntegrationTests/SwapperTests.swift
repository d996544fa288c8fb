import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Testing

/// The Swapper with the real llama-server and the real GGUF models.
@Suite(.serialized) struct SwapperTests {
    static func chat(_ guardian: GuardianProcess, _ model: String, tokens: Int = 4) async throws -> HTTP.Reply {
        try await HTTP.post(guardian.baseURL + "/swapper/v1/chat/completions", json: [
            "model": .string(model), "max_tokens": .int(Int64(tokens)),
            "messages": [["role": "user", "content": "Say hello."]],
        ], timeout: .seconds(120))
    }

    static func running(_ guardian: GuardianProcess) async throws -> [String: JSONValue] {
        let document = try await HTTP.get(guardian.baseURL + "/swapper/running").json()
        var byName: [String: JSONValue] = [:]
        for model in document["models"]?.arrayValue ?? [] { byName[model["model"]?.stringValue ?? ""] = model }
        return byName
    }

    static func guardian(_ root: TemporaryDirectory, _ swapper: String) throws -> GuardianProcess {
        let config = root.path + "/node.yaml"
        try ("metrics:\n  interval: 1h\n" + swapper).write(toFile: config, atomically: true, encoding: .utf8)
        return try GuardianProcess(nodeID: "swap", root: root.path, arguments: ["--config", config])
    }

    /// Cold start with eight callers at once: all answered, one process started.
    @Test func coldStartServesConcurrentCallersWithOneProcess() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            #expect(ProcessTable.llamaServers(childrenOf: node.pid).isEmpty, "nothing starts before it is asked for")
            let replies = try await withThrowingTaskGroup(of: HTTP.Reply.self) { group in
                for i in 0..<8 { group.addTask { try await Self.chat(node, i % 2 == 0 ? "smollm2" : "tiny") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.map(\.status) == Array(repeating: 200, count: 8), "\(replies.map(\.text))")
            #expect(replies.allSatisfy { (try? $0.json()["choices"]?.arrayValue?.isEmpty) == false })
            let running = try await Self.running(node)
            #expect(running["smollm2"]?["state"] == "loaded")
            #expect(running["smollm2"]?["starts"] == 1)
            #expect(ProcessTable.llamaServers(childrenOf: node.pid).count == 1)
            #expect(try await node.store().models().first { $0.name == "smollm2" }?.state == .loaded)

            // The streaming path, through the official openai client: chunks arrive as they are made.
            let (code, out, err) = try await Python.run(
                RealModels.repository + "/scripts/fixtures/openai_stream.py", [node.baseURL + "/swapper/v1", "smollm2"]
            )
            #expect(code == 0, "\(err)")
            let stream = try JSONValue.parse(Array(out.utf8))
            let arrivals = stream["arrivals_ms"]?.arrayValue?.compactMap(\.doubleValue) ?? []
            #expect(arrivals.count >= 40)
            // 48 tokens at ~15 ms each: a relay that buffered would deliver them all at once.
            // (200 ms, not 300: a fast run streamed all 48 in 298 ms.)
            #expect((arrivals.last ?? 0) - (arrivals.first ?? 0) > 200, "arrivals: \(arrivals)")
            let gaps = zip(arrivals.dropFirst(), arrivals).map { $0 - $1 }.sorted()
            #expect(gaps[gaps.count / 2] > 3, "chunks arrive one by one, not in a burst: \(gaps)")
            #expect(stream["content"]?.stringValue?.isEmpty == false)
        }
    }

    /// `GET /swapper/running` in full: models, swaps, and the last processes' lifetimes.
    static func report(_ guardian: GuardianProcess) async throws -> JSONValue {
        try await HTTP.get(guardian.baseURL + "/swapper/running").json()
    }

    /// Pairs of processes of `models` that were alive at the same moment, from the lifetimes the
    /// Swapper records: each run's start is taken just before its fork and its end just after
    /// its exit was reaped, so the real lifetime lies inside. Empty: never two alive at once —
    /// proven for every instant, not sampled.
    static func overlappingRuns(_ report: JSONValue, among models: Set<String>) -> [String] {
        let runs = (report["history"]?.arrayValue ?? []).filter { models.contains($0["model"]?.stringValue ?? "") }
        var overlaps: [String] = []
        for (i, a) in runs.enumerated() {
            for b in runs[(i + 1)...] {
                let aStart = a["started_ns"]?.intValue ?? 0, aEnd = a["exited_ns"]?.intValue ?? .max
                let bStart = b["started_ns"]?.intValue ?? 0, bEnd = b["exited_ns"]?.intValue ?? .max
                if aStart < bEnd && bStart < aEnd { overlaps.append("\(a) overlaps \(b)") }
            }
        }
        return overlaps
    }

    /// Exclusive group: each swap unloads the other, and never two servers at once.
    @Test func exclusiveGroupSwapsOneAtATime() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection(exclusive: true))
        try await withGuardians([node]) {
            try await node.start()
            for model in ["smollm2", "gemma", "smollm2", "gemma"] {
                let reply = try await Self.chat(node, model)
                #expect(reply.status == 200, "\(reply.text)")
                let running = try await Self.running(node)
                let other = model == "smollm2" ? "gemma" : "smollm2"
                #expect(running[model]?["state"] == "loaded")
                #expect(running[other]?["state"] == "available")
            }
            let report = try await Self.report(node)
            #expect(report["history"]?.arrayValue?.count == 4, "four runs: \(report)")
            #expect(Self.overlappingRuns(report, among: ["smollm2", "gemma"]) == [], "at most one llama-server alive at any moment")
            #expect(report["swaps"] == 3)
            let running = try await Self.running(node)
            #expect(running["smollm2"]?["starts"] == 2)
            #expect(running["gemma"]?["starts"] == 2)
            let models = try await node.store().models()
            #expect(models.first { $0.name == "gemma" }?.state == .loaded)
            #expect(models.first { $0.name == "smollm2" }?.state == .available)
        }
    }

    /// Idle past its TTL, the model's process goes and the store says available.
    @Test func idleModelsUnloadAfterTheirTTL() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection(ttl: "2s"))
        try await withGuardians([node]) {
            try await node.start()
            #expect(try await Self.chat(node, "smollm2").status == 200)
            let pid = try #require(try await Self.running(node)["smollm2"]?["pid"]?.intValue)
            try await poll(timeout: .seconds(15), "the TTL unload") {
                !ProcessTable.isAlive(Int32(pid))
            }
            try await poll(timeout: .seconds(5), "the store to say available") {
                try await node.store().models().first { $0.name == "smollm2" }?.state == .available
            }
            #expect(try await Self.running(node)["smollm2"]?["state"] == "available")
        }
    }

    /// kill -9 of the model process is noticed at once; the next request starts it again.
    @Test func aKilledModelProcessIsNoticedAndRestarted() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            #expect(try await Self.chat(node, "smollm2").status == 200)
            let pid = try #require(try await Self.running(node)["smollm2"]?["pid"]?.intValue)
            kill(pid_t(pid), SIGKILL)
            try await poll(timeout: .seconds(5), "the crash to be noticed") {
                try await Self.running(node)["smollm2"]?["state"] == "available"
            }
            let error = try await Self.running(node)["smollm2"]?["last_error"]?.stringValue
            #expect(error?.contains("signal 9") == true, "\(error ?? "")")
            try await poll(timeout: .seconds(5), "the store to say available") {
                try await node.store().models().first { $0.name == "smollm2" }?.state == .available
            }
            #expect(try await Self.chat(node, "smollm2").status == 200)
            let running = try await Self.running(node)
            #expect(running["smollm2"]?["starts"] == 2)
            #expect(running["smollm2"]?["pid"]?.intValue != pid)
        }
    }

    /// SIGTERM to the guardian stops its model servers: none outlives it.
    @Test func sigtermLeavesNoModelServerRunning() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            async let a = Self.chat(node, "smollm2")
            async let b = Self.chat(node, "gemma")
            #expect(try await [a.status, b.status] == [200, 200])
            let pids = ProcessTable.llamaServers(childrenOf: node.pid).map(\.pid)
            #expect(pids.count == 2)
            #expect(try await node.stop() == 0)
            #expect(pids.allSatisfy { !ProcessTable.isAlive($0) })
        }
    }

    /// A model whose command fails: a clear error with its output, and the next request tries
    /// again (here it then succeeds).
    @Test func aFailingCommandReportsItsOutputAndIsRetried() async throws {
        let root = TemporaryDirectory()
        let flag = root.path + "/second-try"
        let llama = try RealModels.llamaServer(), model = try RealModels.smollm2()
        let flaky = """
                flaky:
                  cmd: sh -c 'if [ -e \(flag) ]; then exec \(llama) -m \(model) --port ${PORT} --host 127.0.0.1 -t 1 -c 512; else touch \(flag); echo "cannot open the GPU (boom)" >&2; exit 3; fi'
            """
        let node = try Self.guardian(root, try RealModels.swapperSection(extraModels: flaky))
        try await withGuardians([node]) {
            try await node.start()
            let first = try await Self.chat(node, "flaky")
            #expect(first.status == 502)
            let error = try first.json()["error"]
            #expect(error?["code"] == "model_start_failed")
            let message = error?["message"]?.stringValue ?? ""
            #expect(message.contains("exited with status 3"), "\(message)")
            #expect(message.contains("cannot open the GPU (boom)"), "\(message)")
            #expect(error?["request_id"]?.stringValue?.isEmpty == false)
            let logs = try await HTTP.get(node.baseURL + "/swapper/logs/flaky").text
            #expect(logs.contains("boom"))
            let second = try await Self.chat(node, "flaky")
            #expect(second.status == 200, "\(second.text)")
        }
    }

    /// `dagi models` lists them; `dagi unload` stops one through the running guardian.
    @Test func dagiModelsAndUnload() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            #expect(try await Self.chat(node, "smollm2").status == 200)
            let (_, listing, _) = try await Binaries.run("dagi", ["models", "--data-dir", node.dataDirectory])
            #expect(listing.contains("smollm2") && listing.contains("loaded") && listing.contains("gemma"))
            let (code, out, err) = try await Binaries.run("dagi", ["unload", "tiny", "--data-dir", node.dataDirectory])
            #expect(code == 0, "\(err)")
            #expect(out.contains("smollm2"))
            #expect(ProcessTable.llamaServers(childrenOf: node.pid).isEmpty)
            #expect(try await Self.running(node)["smollm2"]?["state"] == "available")
            let unknown = try await Binaries.run("dagi", ["unload", "nonexistent", "--data-dir", node.dataDirectory])
            #expect(unknown.0 != 0)
            #expect(unknown.2.contains("not configured"))
        }
    }
}

/// Runs Python scripts in the venv with the official clients.
enum Python {
    static func run(_ script: String, _ arguments: [String]) async throws -> (Int32, String, String) {
        let python = try RealModels.python()
        return try await Binaries.runPath(python, [script] + arguments)
    }
}
