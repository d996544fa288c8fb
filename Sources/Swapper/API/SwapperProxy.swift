import AsyncHTTPClient
import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import NIOCore

/// The Swapper's own OpenAI-compatible proxy, `{prefix}/v1/*` on this machine: it leases the
/// requested model (starting it if needed) and relays the request to it. Kept apart from the
/// controls because the router's relay will replace it.
extension SwapperAPI {
    /// Mounts the OpenAI-compatible proxy under `prefix` (e.g. "/swapper"). Like the controls,
    /// it answers this machine only: agents on the network go through the router, which
    /// authenticates them.
    public func registerProxy(on router: Router<MeshRequestContext>, prefix: String) {
        for path in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] {
            router.post(RouterPath(prefix + path)) { request, context in
                try Self.requireLoopback(context)
                return try await proxy(request, context, path: path)
            }
        }
        router.get(RouterPath(prefix + "/v1/models")) { _, context in
            try Self.requireLoopback(context)
            return await models()
        }
    }

    func proxy(_ request: Request, _ context: MeshRequestContext, path: String) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: maxBody) } catch { throw APIError.bodyTooLarge(limit: maxBody) }
        let fields = try RequestFields.read(body)
        guard let model = fields.model, !model.isEmpty else { throw APIError.missingField("model") }
        let lease: ModelLease
        do {
            lease = try await swapper.acquire(model, timeout: swapper.config.longestWait)
        } catch let error as SwapperError {
            throw error.apiError
        }
        return try await forward(request, body: body, path: path, lease: lease, context: context)
    }

    /// Sends a request to a leased model and relays the answer; the lease ends with the relay.
    public func forward(_ request: Request, body: ByteBuffer, path: String, lease: ModelLease, context: MeshRequestContext) async throws -> Response {
        let upstream: HTTPRelay.UpstreamResponse
        do {
            upstream = try await HTTPRelay.send(
                client: http, url: lease.baseURL + path, method: request.method, headers: request.headers, body: body,
                timeout: upstreamTimeout
            )
        } catch {
            await lease.release()
            throw APIError(status: .badGateway, code: "upstream_error", message: "model \(lease.model) did not answer: \(error)")
        }
        return HTTPRelay.response(upstream, extraHeaders: [.init("x-dagi-model")!: lease.model]) { _, _ in await lease.release() }
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
}
