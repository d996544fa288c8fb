import Foundation
import Hummingbird
import Synchronization
import Logging
import NIOCore

/// An HTTP server inside the test process on a free loopback port, built from a Hummingbird
/// router: the stand-in for Ollama, llama.cpp or a cloud provider. `stop()` closes the port,
/// so clients see a real connection refusal.
final class MockServer: @unchecked Sendable {
    let port: Int
    private var task: Task<Void, any Error>?
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Without `port`, the system picks one as the server binds (a port probed free first
    /// could be taken by another test before the bind).
    init(port: Int? = nil, routes: (Router<BasicRequestContext>) -> Void) async throws {
        let router = Router()
        routes(router)
        var logger = Logger(label: "mock")
        logger.logLevel = .critical
        let bound = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port ?? 0)),
            onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } }, logger: logger
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        self.task = task
        let deadline = ContinuousClock.now + .seconds(60)
        while bound.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else {
                task.cancel()
                throw TestFailure("the mock server did not start in 60 s")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        self.port = bound.withLock { $0 } ?? 0
    }

    func stop() async {
        task?.cancel()
        _ = try? await task?.value
        task = nil
    }

    deinit { task?.cancel() }
}

/// A server that follows Ollama's documented `/api/tags` and `/api/ps` responses.
enum MockOllama {
    struct Model: Sendable {
        var name: String
        var size: Int64
        var family: String
        var parameterSize: String
        var quantization: String
        var loaded: Bool
    }

    static func start(keepAlives: Locked<[String]> = Locked([]), requests: Locked<[String]> = Locked([]), models: [Model]) async throws -> MockServer {
        try await MockServer { router in
            // Inference: Ollama's native chat and its OpenAI-compatible endpoint, each recording
            // the path and body it was sent.
            router.post("/api/chat") { request, _ in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                requests.withLock { $0.append("/api/chat " + String(buffer: body)) }
                let document = try JSONValue.parse(body.readableBytesView)
                return json([
                    "model": document["model"] ?? .null, "created_at": "2025-01-01T00:00:00Z", "done": true, "done_reason": "stop",
                    "message": ["role": "assistant", "content": "Hello from Ollama."], "prompt_eval_count": 3, "eval_count": 4,
                ])
            }
            router.post("/v1/chat/completions") { request, _ in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                requests.withLock { $0.append("/v1/chat/completions " + String(buffer: body)) }
                let document = try JSONValue.parse(body.readableBytesView)
                return json([
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": document["model"] ?? .null,
                    "choices": [["index": 0, "message": ["role": "assistant", "content": "Hello from Ollama's OpenAI API."], "finish_reason": "stop"]],
                    "usage": ["prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9],
                ])
            }
            // Load and unload through keep_alive, as Ollama documents.
            router.post("/api/generate") { request, _ in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                let document = try JSONValue.parse(body.readableBytesView)
                let keepAlive = document["keep_alive"].map { $0.stringValue ?? $0.intValue.map(String.init) ?? "?" } ?? "none"
                keepAlives.withLock { $0.append("\(document["model"]?.stringValue ?? ""):\(keepAlive)") }
                return json(["model": document["model"] ?? .null, "response": "", "done": true, "done_reason": keepAlive == "0" ? "unload" : "load"])
            }
            router.get("/api/tags") { _, _ in json(["models": .array(models.map(describe))]) }
            router.get("/api/ps") { _, _ in
                json(["models": .array(models.filter(\.loaded).map { model in
                    var entry = describe(model)
                    if case .object(var object) = entry {
                        object["size_vram"] = .int(model.size)
                        object["expires_at"] = "2099-01-01T00:00:00Z"
                        entry = .object(object)
                    }
                    return entry
                })])
            }
        }
    }

    static func describe(_ model: Model) -> JSONValueLite {
        .object([
            "name": .string(model.name), "model": .string(model.name), "modified_at": "2025-01-01T00:00:00Z",
            "size": .int(model.size), "digest": "sha256:0000",
            "details": .object([
                "format": "gguf", "family": .string(model.family), "families": .array([.string(model.family)]),
                "parameter_size": .string(model.parameterSize), "quantization_level": .string(model.quantization),
            ]),
        ])
    }

    static func json(_ value: JSONValueLite) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }
}

import MeshCore
import MeshHTTP
typealias JSONValueLite = JSONValue
