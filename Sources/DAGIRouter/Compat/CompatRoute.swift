import HTTPTypes
import MeshCore
import MeshHTTP

/// The replaced services whose APIs a node can answer (see ``CompatConfig``).
public enum CompatAPI: Sendable, Equatable {
    /// The LLM proxy: `POST /internal/llm/proxy`, the caller's agent in `metadata.agent_id`.
    case llmProxy
    /// The AI provider service: `POST /api/v1/completion` and
    /// `/api/v1/providers/{name}/completion`, the agent in `X-Agent-Id`.
    case providerService

    /// The shape of its error bodies.
    var errorStyle: APIError.Style { self == .llmProxy ? .detail : .providerService }
}

/// A compatibility API's completion request line: which API, and the provider its path pins.
struct CompatRoute: Sendable, Equatable {
    let api: CompatAPI
    /// `/api/v1/providers/{name}/completion`'s name.
    let provider: String?

    static let proxyPath = "/internal/llm/proxy"
    static let completionPath = "/api/v1/completion"
    static let providersPrefix = "/api/v1/providers/"

    /// The route of a request line, when it is one of the enabled APIs' completion endpoints.
    static func match(method: HTTPRequest.Method, path: String?, config: CompatConfig) -> CompatRoute? {
        guard config.isEnabled, method == .post, let path else { return nil }
        let bare = path.utf8.firstIndex(of: UInt8(ascii: "?")).map { path[..<$0] } ?? path[...]
        if config.llmProxy, bare == proxyPath { return CompatRoute(api: .llmProxy, provider: nil) }
        guard config.providerService else { return nil }
        if bare == completionPath { return CompatRoute(api: .providerService, provider: nil) }
        guard bare.hasPrefix(providersPrefix), bare.hasSuffix("/completion") else { return nil }
        let name = bare.dropFirst(providersPrefix.count).dropLast("/completion".count)
        // An invalid name matches nothing (a 404), as an unknown path would.
        guard MeshName.isValid(name) else { return nil }
        return CompatRoute(api: .providerService, provider: String(name))
    }
}

/// The replaced services name agents `agent:sofia`; the mesh calls that agent `sofia`.
public enum CompatAgentID {
    /// The mesh's name for a caller's agent id, nil when it cannot be one.
    public static func name(_ id: String) -> String? {
        let bare = id.hasPrefix("agent:") ? String(id.dropFirst("agent:".count)) : id
        return MeshName.isValid(bare) ? bare : nil
    }
}
