import AsyncHTTPClient
import Foundation
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTP1

/// A tiny HTTP helper for tests over the shared AsyncHTTPClient.
enum HTTP {
    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> JSONValue { try JSONValue.parse(body) }
    }

    static func get(_ url: String, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(10), client: HTTPClient = .shared) async throws -> Reply {
        try await send("GET", url, headers: headers, timeout: timeout, client: client)
    }

    static func post(
        _ url: String, json: JSONValue, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(60), client: HTTPClient = .shared
    ) async throws -> Reply {
        try await send("POST", url, body: json.serialized(), headers: [("content-type", "application/json")] + headers, timeout: timeout, client: client)
    }

    static func send(
        _ method: String, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30),
        client: HTTPClient = .shared
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }
}
