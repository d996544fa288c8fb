import MeshCore

/// `compat:` — the APIs of the services DAGI Mesh replaces, served on the node's port so their
/// agents move by changing a host name. Each is off unless turned on.
///
///     compat:
///       llm_proxy: true                        # POST /internal/llm/proxy, GET /internal/llm/models, /usage
///       provider_service: true                 # POST /api/v1/completion, GET /api/v1/models, /providers, ...
///       internal_secret_env: LLM_PROXY_SECRET  # the X-Internal-Secret callers send
///       auto_agents: true                      # metadata.agent_id names an agent created on first use
///
/// The internal secret is a master credential: its holder may act as any agent and read every
/// agent's usage (the replaced services trusted it so).
///       default_agent: compat                  # a call that names none
public struct CompatConfig: Sendable, Decodable {
    /// The LLM proxy's API (`/internal/llm/...`).
    public var llmProxy: Bool
    /// The AI provider service's API (`/api/v1/...`).
    public var providerService: Bool
    /// The environment variable holding the `X-Internal-Secret` callers authenticate with.
    public var internalSecretEnv: String
    /// An agent a call names that does not exist is created (else the call is refused).
    public var autoAgents: Bool
    /// The agent of a call that names none.
    public var defaultAgent: String
    /// The model of a provider-service call that names none (that service's own default).
    public var defaultModel: String?
    /// `auto_agents` creates no agent once the mesh has this many.
    public var maxAutoAgents: Int
    /// Whether an agent `auto_agents` creates may use cloud models (the replaced services let
    /// every caller reach them).
    public var autoAgentAllowCloud: Bool
    /// The requests per minute of an agent `auto_agents` creates: the LLM proxy's own default,
    /// and a bound on a secret holder that rotates the agents it names.
    public var autoAgentRPM: Int

    public init(
        llmProxy: Bool = false, providerService: Bool = false, internalSecretEnv: String = "LLM_PROXY_SECRET", autoAgents: Bool = false,
        defaultAgent: String = "compat", defaultModel: String? = nil, maxAutoAgents: Int = 1000, autoAgentAllowCloud: Bool = true,
        autoAgentRPM: Int = 10
    ) {
        self.autoAgentAllowCloud = autoAgentAllowCloud
        self.autoAgentRPM = autoAgentRPM
        self.llmProxy = llmProxy
        self.providerService = providerService
        self.internalSecretEnv = internalSecretEnv
        self.autoAgents = autoAgents
        self.defaultAgent = defaultAgent
        self.defaultModel = defaultModel
        self.maxAutoAgents = maxAutoAgents
    }

    /// Whether either API is served.
    public var isEnabled: Bool { llmProxy || providerService }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case llmProxy = "llm_proxy", providerService = "provider_service", internalSecretEnv = "internal_secret_env"
        case autoAgents = "auto_agents", defaultAgent = "default_agent", defaultModel = "default_model", maxAutoAgents = "max_auto_agents"
        case autoAgentAllowCloud = "auto_agent_allow_cloud", autoAgentRPM = "auto_agent_rpm"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CompatConfig()
        llmProxy = try c.decode(.llmProxy, default: d.llmProxy)
        providerService = try c.decode(.providerService, default: d.providerService)
        internalSecretEnv = try c.decode(.internalSecretEnv, default: d.internalSecretEnv)
        autoAgents = try c.decode(.autoAgents, default: d.autoAgents)
        defaultAgent = try c.decode(.defaultAgent, default: d.defaultAgent)
        defaultModel = try c.decodeIfPresent(String.self, forKey: .defaultModel)
        maxAutoAgents = try c.decode(.maxAutoAgents, default: d.maxAutoAgents)
        autoAgentAllowCloud = try c.decode(.autoAgentAllowCloud, default: d.autoAgentAllowCloud)
        autoAgentRPM = try c.decode(.autoAgentRPM, default: d.autoAgentRPM)
        if !(1...1_000_000).contains(autoAgentRPM) {
            throw DecodingError.dataCorruptedError(forKey: .autoAgentRPM, in: c, debugDescription: "auto_agent_rpm must be 1...1000000")
        }
        guard CompatAgentID.name(defaultAgent) != nil else {
            throw DecodingError.dataCorruptedError(forKey: .defaultAgent, in: c, debugDescription: "default_agent must be an agent name (letters, digits, '.', '-', '_')")
        }
        guard (0...10_000).contains(maxAutoAgents) else {
            throw DecodingError.dataCorruptedError(forKey: .maxAutoAgents, in: c, debugDescription: "max_auto_agents must be 0...10000")
        }
        if let defaultModel, defaultModel.isEmpty || defaultModel.utf8.count > 256 {
            throw DecodingError.dataCorruptedError(forKey: .defaultModel, in: c, debugDescription: "default_model must be a model name")
        }
    }
}

extension CompatConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension CompatConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = CompatConfig()
        switch self {
        case .llmProxy: return ("\(d.llmProxy)", "serve the LLM proxy's API: POST /internal/llm/proxy, GET /internal/llm/models and /internal/llm/usage")
        case .providerService:
            return ("\(d.providerService)", "serve the AI provider service's API: POST /api/v1/completion, GET /api/v1/models, /providers, /metrics, /analytics/costs")
        case .internalSecretEnv: return (d.internalSecretEnv, "environment variable holding the X-Internal-Secret that authenticates callers as a service")
        case .autoAgents: return ("\(d.autoAgents)", "create the agent a call names (metadata.agent_id, X-Agent-Id) on first use; else unknown agents are refused")
        case .defaultAgent: return (d.defaultAgent, "the agent of a call that names none")
        case .defaultModel: return (nil, "the model of a provider-service call that names none")
        case .maxAutoAgents: return ("\(d.maxAutoAgents)", "auto_agents creates no agent once the mesh has this many")
        case .autoAgentAllowCloud: return ("\(d.autoAgentAllowCloud)", "whether an agent auto_agents creates may use cloud models")
        case .autoAgentRPM: return ("\(d.autoAgentRPM)", "requests per minute of an agent auto_agents creates (the LLM proxy's default)")
        }
    }
}
