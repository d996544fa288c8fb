import Foundation
import MeshCore
import MeshHTTP
import Testing

/// The two ways a node serves what is on this machine: a local Ollama (its own API for Ollama
/// clients, its OpenAI-compatible one for the rest), and `open_localhost` for keyless callers
/// on this machine only.
@Suite(.serialized) struct LocalAccessTests {
    @Test func routesToTheLocalOllama() async throws {
        let root = TemporaryDirectory()
        let requests = Locked<[String]>([])
        let ollama = try await MockOllama.start(requests: requests, models: [
            .init(name: "qwen2.5:0.5b", size: 397_000_000, family: "qwen2", parameterSize: "494M", quantization: "Q4_K_M", loaded: true),
        ])
        let node = try RouterTests.node(root, router: "  aliases:\n    small: [qwen2.5:0.5b]", ollama: "{ url: \(ollama.baseURL), refresh: 200ms }")
        try await withGuardians([node]) {
            try await node.start()
            try await poll(timeout: .seconds(15), "the Ollama model to be routable") {
                let tags = try await HTTP.get(node.baseURL + "/api/tags", headers: RouterTests.auth).json()
                return tags["models"]?.arrayValue?.contains { $0["name"] == "qwen2.5:0.5b" } == true
            }
            // An Ollama client's request reaches Ollama's own API, options intact, the alias
            // replaced by the model's real name.
            let native = try await HTTP.post(node.baseURL + "/api/chat", json: [
                "model": "small", "stream": false, "messages": [["role": "user", "content": "hi"]], "options": ["num_ctx": 8192],
            ], headers: RouterTests.auth)
            #expect(native.status == 200, "\(native.text)")
            #expect(try native.json()["message"]?["content"] == "Hello from Ollama.")
            #expect(native.headers.first(name: "x-dagi-route") == "local")
            let sent = try #require(requests.value.last)
            #expect(sent.hasPrefix("/api/chat "))
            let body = try JSONValue.parse(Array(sent.dropFirst("/api/chat ".count).utf8))
            #expect(body["model"] == "qwen2.5:0.5b")
            #expect(body["options"]?["num_ctx"] == 8192)
            // An OpenAI client's request reaches Ollama's OpenAI-compatible API.
            let openAI = try await RouterTests.chat(node, "qwen2.5:0.5b")
            #expect(openAI.status == 200, "\(openAI.text)")
            #expect(try openAI.json()["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from Ollama's OpenAI API.")
            #expect(requests.value.last?.hasPrefix("/v1/chat/completions ") == true)
        }
        await ollama.stop()
    }

    @Test func openLocalhostAdmitsThisMachineOnly() async throws {
        let root = TemporaryDirectory()
        let port = try FreePort.allocate(), closedPort = try FreePort.allocate()
        let open = try RouterTests.node(root, id: "open", swapper: RouterTests.mockSwapper(["ok"]), router: "  open_localhost: true", port: port)
        open.listenHost = "0.0.0.0"
        let closed = try RouterTests.node(root, id: "closed", swapper: RouterTests.mockSwapper(["ok"]), port: closedPort)
        try await withGuardians([open, closed]) {
            try await open.start()
            try await closed.start()
            let body: JSONValue = ["model": "mock-ok", "messages": [["role": "user", "content": "hi"]]]
            // From this machine, without a key (or with the placeholder the openai client insists on).
            #expect(try await HTTP.post(open.baseURL + "/v1/chat/completions", json: body).status == 200)
            #expect(try await HTTP.post(open.baseURL + "/v1/chat/completions", json: body, headers: [("authorization", "Bearer sk-no-key")]).status == 200)
            try await poll(timeout: .seconds(10), "the local agent's usage") {
                try await open.store().usage().contains { $0.agent == "local" }
            }
            // Not from another machine.
            if let address = NetworkAddress.nonLoopbackIPv4() {
                let remote = try await HTTP.post("http://\(address):\(port)/v1/chat/completions", json: body)
                #expect(remote.status == 401, "\(remote.text)")
            }
            // And not at all when it is off.
            #expect(try await HTTP.post(closed.baseURL + "/v1/chat/completions", json: body).status == 401)
        }
    }
}
