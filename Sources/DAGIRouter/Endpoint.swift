import HTTPTypes
import MeshHTTP

/// The inference endpoints the router serves, and where each goes upstream.
public enum Endpoint: String, Sendable, CaseIterable {
    case chatCompletions, completions, embeddings
    case ollamaChat, ollamaGenerate, ollamaEmbed, ollamaEmbeddings
    /// Anthropic's Messages API, for agents built on the Anthropic SDK.
    case anthropicMessages

    /// The endpoint a request line names, if it is an inference endpoint (query ignored), and
    /// whether it is the Swapper's own (`/swapper/v1/...`: this node's model servers only,
    /// for this machine's operator).
    static func route(method: HTTPRequest.Method, path: String?) -> (endpoint: Endpoint, swapperDirect: Bool)? {
        guard method == .post, let path else { return nil }
        var bare = path.utf8.firstIndex(of: UInt8(ascii: "?")).map { path[..<$0] } ?? path[...]
        let direct = bare.hasPrefix("/swapper/v1/")
        if direct { bare = bare.dropFirst("/swapper".count) }
        guard let endpoint = Self.byPath[bare], !direct || !endpoint.isOllama else { return nil }
        return (endpoint, direct)
    }

    private static let byPath = Dictionary(uniqueKeysWithValues: allCases.map { (Substring($0.path), $0) })

    /// The path on this router (and on a peer's, for a hop).
    public var path: String {
        switch self {
        case .chatCompletions: return "/v1/chat/completions"
        case .completions: return "/v1/completions"
        case .embeddings: return "/v1/embeddings"
        case .ollamaChat: return "/api/chat"
        case .ollamaGenerate: return "/api/generate"
        case .ollamaEmbed: return "/api/embed"
        case .ollamaEmbeddings: return "/api/embeddings"
        case .anthropicMessages: return "/v1/messages"
        }
    }

    /// Ollama's API (errors and streams in Ollama's shapes) rather than OpenAI's.
    public var isOllama: Bool {
        switch self {
        case .ollamaChat, .ollamaGenerate, .ollamaEmbed, .ollamaEmbeddings: return true
        default: return false
        }
    }

    /// Where an OpenAI-compatible server (llama-server, Ollama's /v1) serves it.
    var openAIPath: String {
        switch self {
        case .chatCompletions, .ollamaChat, .ollamaGenerate, .anthropicMessages: return "/v1/chat/completions"
        case .completions: return "/v1/completions"
        case .embeddings, .ollamaEmbed, .ollamaEmbeddings: return "/v1/embeddings"
        }
    }

    /// The body field the endpoint cannot do without.
    var requiredField: String {
        switch self {
        case .chatCompletions, .ollamaChat, .anthropicMessages: return "messages"
        case .completions, .ollamaGenerate, .ollamaEmbeddings: return "prompt"
        case .embeddings, .ollamaEmbed: return "input"
        }
    }

    /// An embeddings request: deterministic, whatever its parameters.
    var isEmbedding: Bool { openAIPath == "/v1/embeddings" }

    /// Ollama streams unless told not to; OpenAI does not unless told to.
    var streamsByDefault: Bool { self == .ollamaChat || self == .ollamaGenerate }

    var canStream: Bool { self == .chatCompletions || self == .completions || self == .anthropicMessages || streamsByDefault }

    /// The shape of this API's error bodies.
    var errorStyle: APIError.Style {
        switch format {
        case .ollama: return .ollama
        case .anthropic: return .anthropic
        default: return .openAI
        }
    }
}
