import MeshStore

/// One place a request can be served: a model of this node's Swapper or Ollama, a model on a
/// peer node (reached through that node's router), or a cloud provider's model (called from
/// this node).
public struct Candidate: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Place: String, Sendable, Codable {
        /// This node's Swapper (started on demand if not loaded).
        case swapper
        /// This node's Ollama.
        case ollama
        /// Another node, through its router.
        case remote
        /// A cloud provider, called from this node with its key.
        case provider
    }

    public var node: String
    public var place: Place
    /// The model's name where it lives (aliases resolved; a provider's own id for the cloud).
    public var model: String
    /// The model's source on its node (Swapper for the cloud: started on demand, never loaded).
    public var source: ModelRecord.Source
    public var loaded: Bool
    /// Ollama's URL for `.ollama`, the peer's API URL for `.remote`, the provider's for `.provider`.
    public var baseURL: String
    /// The provider's name, for `.provider`.
    public var provider: String?

    public init(node: String, place: Place, model: String, source: ModelRecord.Source, loaded: Bool, baseURL: String, provider: String? = nil) {
        self.node = node
        self.place = place
        self.model = model
        self.source = source
        self.loaded = loaded
        self.baseURL = baseURL
        self.provider = provider
    }

    public var isLocal: Bool { place != .remote }
    public var isCloud: Bool { place == .provider }

    /// Identifies the candidate in health statistics.
    public var key: String { isCloud ? "cloud/\(provider ?? "")/\(model)" : Self.key(node: node, source: source, model: model) }

    /// A mesh candidate's key: `node/source/model`.
    static func key(node: String, source: ModelRecord.Source, model: String) -> String { "\(node)/\(source.rawValue)/\(model)" }

    /// `local`, `remote:NODE` or `cloud:PROVIDER`, as in the `x-dagi-route` header.
    public var route: String {
        switch place {
        case .swapper, .ollama: return "local"
        case .remote: return "remote:\(node)"
        case .provider: return "cloud:\(provider ?? "")"
        }
    }

    /// Loaded here (0) > loaded on a healthy peer (1) > startable here (2) > startable on a peer
    /// (3) > a cloud provider (4).
    public var rank: Int {
        if isCloud { return 4 }
        return loaded ? (isLocal ? 0 : 1) : (isLocal ? 2 : 3)
    }

    enum CodingKeys: String, CodingKey { case node, place, model, source, loaded, baseURL = "base_url", provider }

    public var description: String {
        isCloud ? "\(model)@\(provider ?? "") (cloud)" : "\(model)@\(node) (\(place.rawValue), \(loaded ? "loaded" : "startable"))"
    }
}
