import AsyncHTTPClient
import Foundation
import MeshCore
import MeshHTTP

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
    let client: JSONClient

    public init(baseURL: HTTPURL, http: HTTPClient, timeout: Duration = .seconds(5)) {
        self.baseURL = baseURL
        self.client = JSONClient(baseURL: baseURL.base, http: http, timeout: timeout)
    }

    /// Installed models (`GET /api/tags`).
    public func installed() async throws -> [Model] { try await models(path: "/api/tags") }

    /// Models loaded in memory right now (`GET /api/ps`).
    public func loaded() async throws -> [Model] { try await models(path: "/api/ps") }

    /// Loads `model` and keeps it for `keepAlive` (Ollama's documented way: an empty generate).
    public func load(_ model: String, keepAlive: String = "5m") async throws {
        // Loading a model can take a while; allow more than a listing.
        try await client.post("/api/generate", ["model": .string(model), "keep_alive": .string(keepAlive)], timeout: .seconds(300))
    }

    /// Unloads `model` at once (`keep_alive: 0`).
    public func unload(_ model: String) async throws {
        try await client.post("/api/generate", ["model": .string(model), "keep_alive": .int(0)], timeout: .seconds(300))
    }

    private func models(path: String) async throws -> [Model] {
        let document = try await client.get(path)
        return (document["models"]?.arrayValue ?? []).compactMap(Self.model(from:))
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
