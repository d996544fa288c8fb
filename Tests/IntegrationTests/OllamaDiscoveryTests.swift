import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Testing

/// Model discovery from an Ollama server, against a server speaking Ollama's documented API.
@Suite(.serialized) struct OllamaDiscoveryTests {
    @Test func discoversModelsThenMarksThemUnreachable() async throws {
        let root = TemporaryDirectory()
        let keepAlives = Locked<[String]>([])
        let ollama = try await MockOllama.start(keepAlives: keepAlives, models: [
            .init(name: "qwen2.5:0.5b", size: 397_000_000, family: "qwen2", parameterSize: "494M", quantization: "Q4_K_M", loaded: true),
            .init(name: "llama3.2:1b", size: 1_300_000_000, family: "llama", parameterSize: "1.2B", quantization: "Q8_0", loaded: false),
        ])
        let config = root.path + "/node.yaml"
        try "ollama:\n  url: \(ollama.baseURL)\n  refresh: 200ms\n".write(toFile: config, atomically: true, encoding: .utf8)
        let guardian = try GuardianProcess(nodeID: "gpu-box", root: root.path, arguments: ["--config", config])
        try await withGuardians([guardian]) {
            try await guardian.start()
            try await poll(timeout: .seconds(15), "models discovered") {
                let models = try await guardian.openStore().models()
                return models.count == 2 && models.allSatisfy(\.reachable)
            }
            let models = try await guardian.openStore().models()
            let qwen = try #require(models.first { $0.name == "qwen2.5:0.5b" })
            #expect(qwen.source == .ollama)
            #expect(qwen.state == .loaded)
            #expect(qwen.family == "qwen2")
            #expect(qwen.quantization == "Q4_K_M")
            #expect(qwen.sizeBytes == 397_000_000)
            #expect(models.first { $0.name == "llama3.2:1b" }?.state == .available)

            // Load and unload go to Ollama as keep_alive requests.
            let load = try await HTTP.post(guardian.baseURL + "/swapper/load", json: ["model": "llama3.2:1b"])
            #expect(load.status == 200, "\(load.text)")
            let (code, out, err) = try await Binaries.run("dagi", ["unload", "qwen2.5:0.5b", "--data-dir", guardian.dataDirectory])
            #expect(code == 0, "\(err)")
            #expect(out.contains("qwen2.5:0.5b"))
            #expect(keepAlives.value == ["llama3.2:1b:5m", "qwen2.5:0.5b:0"])

            await ollama.stop()
            try await poll(timeout: .seconds(15), "models marked unreachable") {
                try await guardian.openStore().models().allSatisfy { !$0.reachable }
            }
            // The guardian keeps running.
            #expect(try await HTTP.get(guardian.baseURL + "/health").status == 200)
            let (_, text, _) = try await Binaries.run("dagi", ["status", "--data-dir", guardian.dataDirectory])
            #expect(text.contains("unreachable"))
            #expect(try await guardian.stop() == 0)
        }
    }
}
