import Foundation
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore

/// The Swapper's controls, for this node's operator (this machine, or the admin token):
///
/// - `GET /swapper/running`, `POST /swapper/unload` (`{"model": …}` or all),
///   `POST /swapper/load`, `GET /swapper/logs/{model}?tail=N`, `GET /swapper/v1/models`.
///
/// Its OpenAI-compatible endpoints (`POST /swapper/v1/chat/completions`, `/completions`,
/// `/embeddings`) are served by the router's pipeline, restricted to this node's model servers.
public struct SwapperAPI: Sendable {
    let swapper: Swapper
    let ollama: OllamaModelSource?
    let store: MeshStore

    public init(swapper: Swapper, ollama: OllamaModelSource?, store: MeshStore) {
        self.swapper = swapper
        self.ollama = ollama
        self.store = store
    }

    public func register(on router: Router<MeshRequestContext>, audience: Audience) {
        router.get("/swapper/running") { request, context in
            try audience.requireAdmin(request, context)
            return try JSONResponse.make(await swapper.report())
        }
        router.post("/swapper/unload") { request, context in
            try audience.requireAdmin(request, context)
            return try await unload(request)
        }
        router.post("/swapper/load") { request, context in
            try audience.requireAdmin(request, context)
            return try await load(request)
        }
        router.get("/swapper/logs/{model}") { request, context in
            try audience.requireAdmin(request, context)
            let model = try context.parameters.require("model")
            let tail = try QueryInteger.read(request.uri.queryParameters.get("tail"), name: "tail", in: 0...100_000)
            guard let lines = await swapper.logs(model, tail: tail) else {
                throw SwapperError.unknownModel(model, known: await swapper.modelNames).apiError
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")))
            )
        }
        router.get("/swapper/v1/models") { request, context in
            try audience.requireAdmin(request, context)
            return await models()
        }
    }

    func models() async -> Response {
        var data: [JSONValue] = []
        let created = Int64(Date().timeIntervalSince1970)
        for name in await swapper.modelNames {
            data.append(["id": .string(name), "object": "model", "created": .int(created), "owned_by": "dagi-swapper"])
            for alias in swapper.config.models[name]?.aliases ?? [] {
                data.append(["id": .string(alias), "object": "model", "created": .int(created), "owned_by": "dagi-swapper", "parent": .string(name)])
            }
        }
        return JSONResponse.make(["object": "list", "data": .array(data)])
    }

    // MARK: Controls

    private func requestedModel(_ request: Request) async throws -> String? {
        var request = request
        if let model = request.uri.queryParameters.get("model") { return model }
        let body = try await request.collectBody(upTo: 64 << 10)
        guard body.readableBytes > 0 else { return nil }
        guard let document = try? JSONValue.parse(body.readableBytesView) else {
            throw APIError.badRequest("the body must be JSON like {\"model\": \"name\"}", code: "invalid_json")
        }
        return document["model"]?.stringValue
    }

    func unload(_ request: Request) async throws -> Response {
        let model = try await requestedModel(request)
        if let model, swapper.resolve(model) == nil {
            try await unloadOllama(model)
            return JSONResponse.make(["unloaded": [.string(model)]])
        }
        let unloaded = try await swapper.unload(model)
        return JSONResponse.make(["unloaded": .array(unloaded.map(JSONValue.string))])
    }

    func load(_ request: Request) async throws -> Response {
        guard let model = try await requestedModel(request) else { throw APIError.missingField("model") }
        if swapper.resolve(model) == nil {
            guard let ollama, try await isOllamaModel(model) else {
                throw SwapperError.unknownModel(model, known: await swapper.modelNames).apiError
            }
            try await ollama.client.load(model)
            await ollama.refresh()
            return JSONResponse.make(["loaded": .string(model), "source": "ollama"])
        }
        do {
            let lease = try await swapper.acquire(model, timeout: swapper.config.longestWait)
            await lease.release()
            return JSONResponse.make(["loaded": .string(lease.model), "source": "swapper"])
        } catch let error as SwapperError {
            throw error.apiError
        }
    }

    private func unloadOllama(_ model: String) async throws {
        guard let ollama, try await isOllamaModel(model) else {
            throw SwapperError.unknownModel(model, known: await swapper.modelNames).apiError
        }
        do {
            try await ollama.client.unload(model)
        } catch {
            throw APIError(status: .badGateway, code: "ollama_error", message: "Ollama could not unload \(model): \(error)")
        }
        await ollama.refresh()
    }

    private func isOllamaModel(_ model: String) async throws -> Bool {
        try await store.models(nodeID: store.nodeID).contains { $0.source == .ollama && $0.name == model }
    }
}
