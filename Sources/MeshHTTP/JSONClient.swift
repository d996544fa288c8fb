import AsyncHTTPClient
import MeshCore
import NIOCore
import NIOHTTP1

/// The one small JSON-over-HTTP client: `dagi` talking to its guardian, the node talking to
/// Ollama. Bodies are bounded; a non-2xx answer becomes a ``Failure`` carrying the server's own
/// error message (OpenAI's or Ollama's shape), never the raw body.
public struct JSONClient: Sendable {
    public let baseURL: String
    let http: HTTPClient
    let timeout: Duration
    /// Largest answer read.
    let limit: Int

    public struct Failure: Error, CustomStringConvertible {
        /// The HTTP status, or nil when the server could not be reached.
        public let status: Int?
        public let description: String
    }

    public init(baseURL: String, http: HTTPClient = .shared, timeout: Duration = .seconds(120), limit: Int = 16 << 20) {
        self.baseURL = baseURL
        self.http = http
        self.timeout = timeout
        self.limit = limit
    }

    /// GETs a JSON document.
    public func get(_ path: String, timeout: Duration? = nil) async throws -> JSONValue {
        try await send(.GET, path, body: nil, timeout: timeout)
    }

    /// POSTs JSON; returns the decoded answer (`.null` for an empty one).
    @discardableResult
    public func post(_ path: String, _ body: JSONValue, timeout: Duration? = nil) async throws -> JSONValue {
        try await send(.POST, path, body: body, timeout: timeout)
    }

    private func send(_ method: HTTPMethod, _ path: String, body: JSONValue?, timeout: Duration?) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: TimeAmount(timeout ?? self.timeout))
        } catch {
            throw Failure(status: nil, description: "cannot reach \(baseURL): \(error)")
        }
        let bytes = try await response.body.collect(upTo: limit)
        let document = bytes.readableBytes == 0 ? .null : ((try? JSONValue.parse(bytes.readableBytesView)) ?? .null)
        guard (200..<300).contains(response.status.code) else {
            let message = document["error"]?["message"]?.stringValue ?? document["error"]?.stringValue ?? "HTTP \(response.status.code)"
            throw Failure(status: Int(response.status.code), description: message)
        }
        return document
    }
}
