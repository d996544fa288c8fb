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

/// A compatibility API's request, as its answer needs it once it is an OpenAI chat request.
struct CompatCall: Sendable, Equatable {
    let api: CompatAPI
    /// The model as the client named it, before a `provider` pinned it.
    let model: String
}

/// The replaced services name agents `agent:sofia`; the mesh calls that agent `sofia`.
public enum CompatAgentID {
    /// The mesh's name for a caller's agent id, nil when it cannot be one.
    public static func name(_ id: String) -> String? {
        let bare = id.hasPrefix("agent:") ? String(id.dropFirst("agent:".count)) : id
        return MeshName.isValid(bare) ? bare : nil
    }
}
