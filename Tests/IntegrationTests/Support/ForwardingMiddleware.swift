import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Forwards every request to `target()` unchanged (method, path, headers, body), or answers
/// 503 at once while `isCut()`: what a broken link looks like to the caller.
struct ForwardingMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let target: @Sendable () -> String
    let isCut: @Sendable () -> Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !isCut() else { return Response(status: .serviceUnavailable) }
        var request = request
        let body = try await request.collectBody(upTo: 256 << 20)
        var outbound = HTTPClientRequest(url: target() + request.uri.description)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where field.name.canonicalName != "host" {
            outbound.headers.add(name: field.name.canonicalName, value: field.value)
        }
        outbound.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(outbound, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        var headers = HTTPFields()
        for header in response.headers where header.name.lowercased() != "content-length" && header.name.lowercased() != "transfer-encoding" {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: bytes))
    }
}
