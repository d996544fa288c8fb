import MeshStore

/// One place a request can be served: a model of this node's Swapper or Ollama, or a model on
/// a peer node (reached through that node's router).
public struct Candidate: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Place: String, Sendable, Codable {
        /// This node's Swapper (started on demand if not loaded).
        case swapper
        /// This node's Ollama.
        case ollama
        /// Another node, through its router.
        case remote
    }

    public var node: String
    public var place: Place
    /// The model's name where it lives (aliases resolved).
    public var model: String
    /// The model's source on its node.
    public var source: ModelRecord.Source
    public var loaded: Bool
    /// Ollama's URL for `.ollama`, the peer's API URL for `.remote`.
    public var baseURL: String

    public var isLocal: Bool { place != .remote }

    /// Identifies the candidate in health statistics.
    public var key: String { "\(node)/\(source.rawValue)/\(model)" }

    /// `local` or `remote:NODE`, as in the `x-dagi-route` header.
    public var route: String { isLocal ? "local" : "remote:\(node)" }

    /// Loaded here (0) > loaded on a healthy peer (1) > startable here (2) > startable on a peer (3).
    public var rank: Int { loaded ? (isLocal ? 0 : 1) : (isLocal ? 2 : 3) }

    enum CodingKeys: String, CodingKey { case node, place, model, source, loaded, baseURL = "base_url" }

    public var description: String { "\(model)@\(node) (\(place.rawValue), \(loaded ? "loaded" : "startable"))" }
}
