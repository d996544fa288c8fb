import DAGIRouter
import MeshCore
import Swapper
import Sync

/// Every key of the node config, from the config types themselves: each section's keys are an
/// exhaustive list over its `CodingKeys` (a new key does not compile without its meaning), and
/// defaults come from the types' default values.
public enum ConfigReference {
    /// A section of the reference: its path (`swapper.models.NAME`) and keys.
    public struct Section: Sendable {
        public let path: String
        public let keys: [ConfigKeyDoc]
    }

    public static let sections: [Section] = [
        Section(path: "", keys: NodeConfig.configKeys),
        Section(path: "node", keys: NodeSection.configKeys),
        Section(path: "node.tls", keys: TLSSection.configKeys),
        Section(path: "ollama", keys: OllamaSection.configKeys),
        Section(path: "metrics", keys: MetricsSection.configKeys),
        Section(path: "agents[]", keys: AgentConfig.configKeys),
        Section(path: "mesh", keys: MeshConfig.configKeys),
        Section(path: "swapper", keys: SwapperConfig.configKeys),
        Section(path: "swapper.models.NAME", keys: SwapperModelConfig.configKeys),
        Section(path: "swapper.groups.NAME", keys: SwapperGroupConfig.configKeys),
        Section(path: "router", keys: RouterConfig.configKeys),
        Section(path: "providers.NAME", keys: ProviderConfig.configKeys),
        Section(path: "cloud_models.NAME", keys: CloudModelConfig.configKeys),
        Section(path: "compat", keys: CompatConfig.configKeys),
        Section(path: "budgets", keys: BudgetsConfig.configKeys),
        Section(path: "budgets.global", keys: BudgetLimit.configKeys),
        Section(path: "budgets.providers.NAME", keys: BudgetLimit.configKeys),
        Section(path: "alerts", keys: AlertsConfig.configKeys),
        Section(path: "cache", keys: CacheConfig.configKeys),
        Section(path: "tiers.NAME", keys: TierConfig.configKeys),
    ]

    /// The reference as text: a block per section, a line per key — its name, its default
    /// (`-`: none, or off) and its meaning.
    public static func render() -> String {
        var out = ["# Every key of a node config (YAML): name, default (- for none), meaning.", "# Durations: 500ms, 10s, 5m, 2h, 1d; sizes: 300MiB, 8GiB.", ""]
        for section in sections {
            out.append(section.path.isEmpty ? "(top level)" : "\(section.path):")
            let keyWidth = section.keys.map(\.key.count).max() ?? 0
            let defaultWidth = section.keys.map { ($0.defaultValue ?? "-").count }.max() ?? 0
            for key in section.keys {
                let name = key.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0)
                let value = (key.defaultValue ?? "-").padding(toLength: defaultWidth, withPad: " ", startingAt: 0)
                out.append("  \(name)  \(value)  \(key.meaning)")
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}

extension NodeConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension NodeConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .node: return (nil, "this node's identity, address and storage (see node:)")
        case .ollama: return ("url: \(NodeConfig.defaultOllama.url)", "a local Ollama whose models the node serves; null turns it off")
        case .metrics: return (nil, "resource sampling and retention (see metrics:)")
        case .agents: return ("[]", "the agents of the mesh (see agents[]:)")
        case .mesh: return (nil, "peers and sync (see mesh:)")
        case .swapper: return (nil, "local model servers started on demand, inline or a file's path (see swapper:)")
        case .router: return (nil, "the OpenAI/Ollama/Anthropic-compatible endpoint (see router:)")
        case .providers: return ("{}", "cloud providers by name (see providers.NAME:)")
        case .cloudModels: return ("{}", "cloud model names agents may use, with prices (see cloud_models.NAME:)")
        case .compat: return (nil, "the LLM proxy's and the AI provider service's APIs, for their agents (see compat:)")
        case .budgets: return (nil, "budgets beyond the agents' own, and when to warn (see budgets:)")
        case .alerts: return (nil, "where budget alerts go (see alerts:)")
        case .cache: return (nil, "answers to deterministic requests kept on this node, identical requests merged (see cache:)")
        case .tiers: return ("{}", "what each agent tier allows: models, limits, cloud, priority (see tiers.NAME:)")
        }
    }
}

extension NodeSection: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension NodeSection.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = NodeSection()
        switch self {
        case .id: return ("the host name", "the node's id in the mesh")
        case .listen: return ("\(d.listen)", "API and router address, HOST:PORT")
        case .advertiseURL: return (nil, "where peers reach this node, when listen is not it (NAT, 0.0.0.0)")
        case .dataDir: return ("$DAGI_HOME, else the user data directory", "where the store, logs and models folder live")
        case .tls: return (nil, "serve over TLS with this certificate and key (see node.tls:)")
        case .maxConnections: return ("\(d.maxConnections)", "open connections at most; more are closed at once")
        case .idleTimeout: return ("\(d.idleTimeout)", "a connection with no request in progress closes after this")
        case .requestReadTimeout: return ("\(d.requestReadTimeout)", "a request's head and body must arrive within this")
        case .adminTokenEnv: return (d.adminTokenEnv, "environment variable holding the admin token (administration from elsewhere)")
        case .publicInfo: return ("\(d.publicInfo)", "serve /v1/node, /v1/nodes, /v1/agents and /metrics to anyone")
        }
    }
}

extension TLSSection: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension TLSSection.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .cert: return (nil, "PEM certificate chain (required)")
        case .key: return (nil, "PEM private key (required)")
        }
    }
}

extension OllamaSection: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension OllamaSection.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = NodeConfig.defaultOllama
        switch self {
        case .url: return ("\(d.url)", "Ollama's address")
        case .refresh: return ("\(d.refresh)", "how often its models are re-read")
        case .timeout: return ("\(d.timeout)", "timeout of one request to it")
        }
    }
}

extension MetricsSection: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension MetricsSection.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = MetricsSection()
        switch self {
        case .interval: return ("\(d.interval)", "resource sampling and heartbeat period")
        case .rawRetention: return ("\(d.rawRetention)", "how long raw samples are kept")
        case .rollupRetention: return ("\(d.rollupRetention)", "how long hourly rollups are kept")
        case .minuteRollupRetention: return ("\(d.minuteRollupRetention)", "how long minute rollups are kept")
        case .usageRetention: return ("\(d.usageRetention)", "how long per-request ledger rows are kept")
        case .usageRollupRetention: return ("\(d.usageRollupRetention)", "how long hourly usage rollups are kept")
        }
    }
}

extension AgentConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension AgentConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = AgentConfig(name: "-")
        switch self {
        case .name: return (nil, "the agent's name (required)")
        case .tier: return (d.tier, "its tier")
        case .assign: return ("[]", "nodes it works on, in priority order")
        case .allowCloud: return ("\(d.allowCloud)", "it may use cloud models")
        case .staleAfter: return ("\(d.staleAfter)", "silence after which it shows as stale")
        case .keyEnv: return (nil, "environment variable holding its API key (at least 32 characters)")
        case .keySHA256: return (nil, "SHA-256 (hex) of its API key, instead of key_env")
        case .preferNodes: return ("[]", "nodes it prefers when several can serve")
        case .models: return ("[] (all)", "models (logical or physical names) it may use")
        case .budgetDailyUSD: return (nil, "daily spending budget in USD")
        case .budgetMonthlyUSD: return (nil, "monthly spending budget in USD")
        case .budget: return (nil, "{ daily: USD, monthly: USD, on_exceed: downgrade|block } (instead of budget_daily_usd/budget_monthly_usd)")
        case .rpm: return (nil, "requests per minute, counted across the mesh")
        case .tpm: return (nil, "tokens (prompt and completion) per minute, counted across the mesh")
        case .priority: return ("normal", "low (waits behind other work on a busy local model, never the cloud), normal or high")
        case .minInterval: return (nil, "an identical request within this interval is answered from the cache, sampled or not")
        case .promptCache: return ("off", "auto: stable system prompts and tools sent to Anthropic get prompt-cache breakpoints")
        }
    }
}
