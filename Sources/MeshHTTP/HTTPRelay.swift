import MeshCore
import AsyncHTTPClient
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1

/// Relays a request to an upstream server and its response back, as bytes: the body is never
/// parsed, and the response streams chunk by chunk as the upstream produces it (an SSE token
/// stream reaches the client as each token is generated).
public enum HTTPRelay {
    /// Request headers worth passing on; everything else (hop-by-hop headers, the caller's own
    /// credentials) stays here.
    static let forwardedRequestHeaders: [HTTPField.Name] = [.contentType, .accept, .acceptEncoding, .userAgent]
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "content-length", "server", "date", "proxy-connection", "upgrade",
    ]

    /// What came back from the upstream before any body byte was relayed.
    public struct UpstreamResponse: Sendable {
        public let status: HTTPResponse.Status
        public let headers: HTTPFields
        public let contentLength: Int?
        public let body: HTTPClientResponse.Body
    }

    /// Sends the request and waits for the upstream's status and headers (bounded by
    /// `timeout`); the body is not read yet, so a caller can still fail over on a 5xx.
    public static func send(
        client: HTTPClient, url: String, method: HTTPRequest.Method, headers: HTTPFields, extraHeaders: [(String, String)] = [],
        body: ByteBuffer?, timeout: TimeAmount
    ) async throws -> UpstreamResponse {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method.rawValue)
        for name in forwardedRequestHeaders {
            for value in headers[values: name] { request.headers.add(name: name.canonicalName, value: value) }
        }
        for (name, value) in extraHeaders { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: timeout)
        var fields = HTTPFields()
        for header in response.headers where !header.value.isEmpty && !droppedResponseHeaders.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        let length = response.headers.first(name: "content-length").flatMap(Int.init)
        return UpstreamResponse(status: .init(code: Int(response.status.code)), headers: fields, contentLength: length, body: response.body)
    }

    /// Collects a whole (small) upstream body, e.g. an error document.
    public static func collect(_ upstream: UpstreamResponse, limit: Int) async throws -> ByteBuffer {
        try await upstream.body.collect(upTo: limit)
    }

    /// A response that streams the upstream body to the client; `onEnd` runs exactly once when
    /// the relay ends (completed, failed, or the client went away), with the bytes relayed and
    /// the error if any.
    public static func response(
        _ upstream: UpstreamResponse, extraHeaders: HTTPFields = [:],
        onEnd: @escaping @Sendable (_ bytes: Int, _ error: (any Error)?) async -> Void
    ) -> Response {
        var headers = upstream.headers
        headers.append(contentsOf: extraHeaders)
        let body = ResponseBody(contentLength: upstream.contentLength) { writer in
            var relayed = 0
            do {
                for try await chunk in upstream.body {
                    relayed += chunk.readableBytes
                    try await writer.write(chunk)
                }
                try await writer.finish(nil)
            } catch {
                await onEnd(relayed, error)
                throw error
            }
            await onEnd(relayed, nil)
        }
        return Response(status: upstream.status, headers: headers, body: body)
    }
}
