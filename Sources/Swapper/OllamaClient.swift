import AsyncHTTPClient
import Foundation
import MeshSupport
import NIOCore
import NIOHTTP1

/// A client for the parts of Ollama's HTTP API a node needs to report and manage its models:
/// `GET /api/tags` (installed), `GET /api/ps` (loaded), and loading/unloading through
/// `keep_alive` on `POST /api/generate`.
///
/// See https://github.com/ollama/ollama/blob/main/docs/api.md.
public struct OllamaClient: Sendable {
    /// A model as `/api/tags` or `/api/ps` describe it.
    public struct Model: Sendable, Equatable {
        public var name: String
        public var sizeBytes: Int64?
        public var family: String?
        public var parameterSize: String?
        public var quantization: String?
        /// `/api/ps` only: bytes held in GPU memory.
        public var vramBytes: Int64?
    }

    public let baseURL: HTTPURL
    let http: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: HTTPURL, http: HTTPClient, timeout: Duration = .seconds(5)) {
        self.baseURL = baseURL
        self.http = http
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
    }

    /// Installed models (`GET /api/tags`).
    public func installed() async throws -> [Model] { try await models(path: "/api/tags") }

    /// Models loaded in memory right now (`GET /api/ps`).
    public func loaded() async throws -> [Model] { try await models(path: "/api/ps") }

    /// Loads `model` and keeps it for `keepAlive` (Ollama's documented way: an empty generate).
    public func load(_ model: String, keepAlive: String = "5m") async throws {
        _ = try await post("/api/generate", ["model": .string(model), "keep_alive": .string(keepAlive)])
    }

    /// Unloads `model` at once (`keep_alive: 0`).
    public func unload(_ model: String) async throws {
        _ = try await post("/api/generate", ["model": .string(model), "keep_alive": .int(0)])
    }

    private func models(path: String) async throws -> [Model] {
        var request = HTTPClientRequest(url: baseURL.appending(path))
        request.method = .GET
        let response = try await http.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else {
            throw APIError(status: .badGateway, code: "ollama_error", message: "Ollama \(path) answered \(response.status.code)")
        }
        let document = try JSONValue.parse(body.readableBytesView)
        return (document["models"]?.arrayValue ?? []).compactMap(Self.model(from:))
    }

    private func post(_ path: String, _ body: JSONValue) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL.appending(path))
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        // Loading a model can take a while; allow more than a listing.
        let response = try await http.execute(request, timeout: .seconds(300))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw APIError(status: .badGateway, code: "ollama_error", message: "Ollama \(path) answered \(response.status.code)")
        }
        return (try? JSONValue.parse(bytes.readableBytesView)) ?? .null
    }

    static func model(from value: JSONValue) -> Model? {
        guard let name = value["name"]?.stringValue ?? value["model"]?.stringValue else { return nil }
        let details = value["details"]
        return Model(
            name: name,
            sizeBytes: value["size"]?.intValue,
            family: details?["family"]?.stringValue,
            parameterSize: details?["parameter_size"]?.stringValue,
            quantization: details?["quantization_level"]?.stringValue,
            vramBytes: value["size_vram"]?.intValue
        )
    }
}
