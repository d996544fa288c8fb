import AsyncHTTPClient
import MeshCore
import NIOCore
import NIOHTTP1

/// The one small JSON-over-HTTP client: `dagi` talking to its guardian, the node talking to
/// Ollama. Bodies are bounded; a non-2xx answer becomes a ``Failure`` carrying the server's own
/// error message (OpenAI's or Ollama's shape), never the raw body.
public struct JSONClient: Sendable {
    public let baseURL: String
    /// Sent as `authorization: Bearer …` (an agent's key), if set.
    public var bearer: String?
    let http: HTTPClient
    let timeout: Duration
    /// Largest answer read.
    let limit: Int

    public struct Failure: Error, CustomStringConvertible {
        /// The HTTP status, or nil when the server could not be reached.
        public let status: Int?
        public let description: String
    }

    public init(baseURL: String, bearer: String? = nil, http: HTTPClient = .shared, timeout: Duration = .seconds(120), limit: Int = 16 << 20) {
        self.baseURL = baseURL
        self.bearer = bearer
        self.http = http
        self.timeout = timeout
        self.limit = limit
    }

    /// GETs a JSON document.
    public func get(_ path: String, timeout: Duration? = nil) async throws -> JSONValue {
        try await send(.GET, path, body: nil, timeout: timeout)
    }

    /// PUTs JSON; returns the decoded answer.
    @discardableResult
    public func put(_ path: String, _ body: JSONValue, timeout: Duration? = nil) async throws -> JSONValue {
        try await send(.PUT, path, body: body, timeout: timeout)
    }

    /// GETs a plain-text document (a model server's log lines).
    public func text(_ path: String, timeout: Duration? = nil) async throws -> String {
        let response = try await execute(.GET, path, body: nil, headers: [], timeout: timeout)
        guard (200..<300).contains(response.status.code) else { _ = try await document(of: response); return "" }
        return String(buffer: try await response.body.collect(upTo: limit))
    }

    /// POSTs JSON; returns the decoded answer (`.null` for an empty one).
    @discardableResult
    public func post(_ path: String, _ body: JSONValue, timeout: Duration? = nil) async throws -> JSONValue {
        try await send(.POST, path, body: body, timeout: timeout)
    }

    /// POSTs JSON to an endpoint that answers with server-sent events (`stream: true`) and
    /// yields each event's data as it is read, until `data: [DONE]` or the end of the body. An
    /// answer that is not a stream (a JSON document) is yielded whole. Bytes are read only as
    /// fast as events are taken: a slow consumer slows the server, never grows a buffer.
    public func events(_ path: String, _ body: JSONValue, timeout: Duration? = nil) async throws -> ServerSentEventDocuments {
        let response = try await execute(.POST, path, body: body.serialized(), headers: [("content-type", "application/json")], timeout: timeout)
        guard (200..<300).contains(response.status.code), response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true else {
            return ServerSentEventDocuments(whole: try await document(of: response))
        }
        return ServerSentEventDocuments(body: response.body, lineLimit: limit)
    }

    /// An answer as it came: status, headers and (bounded) body, whatever the status.
    public struct RawAnswer: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
    }

    /// Sends bytes with extra headers (a signed request) and returns the answer as it came.
    public func exchange(method: String, _ path: String, headers: [(String, String)], body: [UInt8], timeout: Duration? = nil) async throws -> RawAnswer {
        let response = try await execute(HTTPMethod(rawValue: method), path, body: body, headers: headers, timeout: timeout)
        let bytes = try await response.body.collect(upTo: limit)
        return RawAnswer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(bytes.readableBytesView))
    }

    private func send(_ method: HTTPMethod, _ path: String, body: JSONValue?, timeout: Duration?) async throws -> JSONValue {
        try await document(of: execute(method, path, body: body?.serialized(), headers: body == nil ? [] : [("content-type", "application/json")], timeout: timeout))
    }

    private func execute(_ method: HTTPMethod, _ path: String, body: [UInt8]?, headers: [(String, String)], timeout: Duration?) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let bearer { request.headers.add(name: "authorization", value: "Bearer \(bearer)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            return try await http.execute(request, timeout: TimeAmount(timeout ?? self.timeout))
        } catch {
            throw Failure(status: nil, description: "cannot reach \(baseURL): \(error)")
        }
    }

    /// The answer's JSON, or a ``Failure`` with the server's own message when it is not a 2xx.
    private func document(of response: HTTPClientResponse) async throws -> JSONValue {
        let bytes = try await response.body.collect(upTo: limit)
        let document = bytes.readableBytes == 0 ? .null : ((try? JSONValue.parse(bytes.readableBytesView)) ?? .null)
        guard (200..<300).contains(response.status.code) else {
            let message = document["error"]?["message"]?.stringValue ?? document["error"]?.stringValue ?? "HTTP \(response.status.code)"
            throw Failure(status: Int(response.status.code), description: message)
        }
        return document
    }
}
