import AsyncHTTPClient
import Foundation
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore

/// The Swapper's HTTP surface, for this machine only: its controls here, and an OpenAI-compatible
/// proxy for its models in `SwapperProxy.swift`.
///
/// - `POST {prefix}/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` (streaming or not),
///   `GET {prefix}/v1/models`
/// - `GET /swapper/running`, `POST /swapper/unload` (`{"model": …}` or all),
///   `POST /swapper/load`, `GET /swapper/logs/{model}?tail=N`
public struct SwapperAPI: Sendable {
    let swapper: Swapper
    let http: HTTPClient
    let ollama: OllamaModelSource?
    let store: MeshStore
    /// Bound on request bodies.
    let maxBody: Int
    /// Bound on waiting for the upstream's response head (a whole answer when not streaming).
    let upstreamTimeout: TimeAmount

    public init(swapper: Swapper, http: HTTPClient, ollama: OllamaModelSource?, store: MeshStore, maxBody: Int = 8 << 20, upstreamTimeout: Duration = .seconds(600)) {
        self.swapper = swapper
        self.http = http
        self.ollama = ollama
        self.store = store
        self.maxBody = maxBody
        self.upstreamTimeout = TimeAmount(upstreamTimeout)
    }

    static func requireLoopback(_ context: MeshRequestContext) throws {
        guard context.isLoopback else {
            throw APIError(status: .forbidden, code: "forbidden", message: "the swapper answers this machine only; use the router (/v1) with an API key")
        }
    }

    public func registerControls(on router: Router<MeshRequestContext>) {
        router.get("/swapper/running") { _, context in
            try Self.requireLoopback(context)
            return try JSONResponse.make(await swapper.report())
        }
        router.post("/swapper/unload") { request, context in
            try Self.requireLoopback(context)
            return try await unload(request)
        }
        router.post("/swapper/load") { request, context in
            try Self.requireLoopback(context)
            return try await load(request)
        }
        router.get("/swapper/logs/{model}") { request, context in
            try Self.requireLoopback(context)
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
