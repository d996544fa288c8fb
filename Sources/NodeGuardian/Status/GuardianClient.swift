import AsyncHTTPClient
import MeshStore
import MeshSupport
import NIOCore

/// How `dagi` talks to the running guardian of its node: the address comes from the node's own
/// row in the store, so no flag is needed.
public struct GuardianClient: Sendable {
    public let baseURL: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(baseURL: String) { self.baseURL = baseURL }

    /// The client for the node whose store this is; fails when the node never ran or is offline.
    public static func local(_ store: MeshStore) async throws -> GuardianClient {
        guard let node = try await store.localNode() else {
            throw Failure(description: "the node has not run yet (no node row in \(store.path))")
        }
        return GuardianClient(baseURL: node.apiURL)
    }

    /// POSTs JSON; returns the decoded answer or throws the API's error message.
    public func post(_ path: String, _ body: JSONValue) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        return try await send(request)
    }

    /// GETs a JSON document.
    public func get(_ path: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws -> JSONValue {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        } catch {
            throw Failure(description: "cannot reach the guardian at \(baseURL): \(error) (is node-guardian running?)")
        }
        let bytes = try await response.body.collect(upTo: 8 << 20)
        let document = (try? JSONValue.parse(bytes.readableBytesView)) ?? .null
        guard response.status.code < 300 else {
            throw Failure(description: document["error"]?["message"]?.stringValue ?? "HTTP \(response.status.code)")
        }
        return document
    }
}
