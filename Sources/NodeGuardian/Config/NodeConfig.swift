import Foundation
import DAGIRouter
import MeshCore
import MeshStore
import MeshHTTP
import Swapper
import Sync

/// The whole node configuration: one `Codable` tree decoded from YAML, with every default in
/// it. Sections of the other modules (sync, swapper, router) join it as those land.
///
/// Config names and shapes are a public contract: keys may be added, never renamed.
public struct NodeConfig: Sendable, Decodable {
    public var node: NodeSection
    public var ollama: OllamaSection?
    public var metrics: MetricsSection
    public var agents: [AgentConfig]
    public var mesh: MeshConfig
    /// Local model servers; inline, or the path of a file holding just this section.
    public var swapper: SwapperConfig?
    public var router: RouterConfig
    /// Cloud providers the router may fall back to (keys from the environment).
    public var providers: [String: ProviderConfig]
    /// Cloud models agents may name, by provider, with their prices.
    public var cloudModels: [String: CloudModelConfig]
    /// The APIs of the services DAGI Mesh replaces (each off unless turned on).
    public var compat: CompatConfig
    /// Budgets beyond the agents' own (global, per provider), and when to warn.
    public var budgets: BudgetsConfig
    /// Where budget alerts go.
    public var alerts: AlertsConfig
    /// Answers to deterministic requests kept on this node; identical requests merged.
    public var cache: CacheConfig
    /// What each agent tier allows (models, limits, cloud, priority).
    public var tiers: [String: TierConfig]

    /// Where a node looks for Ollama when its config does not say (`ollama: null` turns it off).
    public static let defaultOllama = OllamaSection(url: HTTPURL(parsing: "http://127.0.0.1:11434")!)

    public init(
        node: NodeSection = NodeSection(), ollama: OllamaSection? = NodeConfig.defaultOllama, metrics: MetricsSection = MetricsSection(),
        agents: [AgentConfig] = [], mesh: MeshConfig = MeshConfig(), swapper: SwapperConfig? = nil, router: RouterConfig = RouterConfig()
    ) {
        self.router = router
        self.providers = [:]
        self.cloudModels = [:]
        self.compat = CompatConfig()
        self.budgets = BudgetsConfig()
        self.alerts = AlertsConfig()
        self.cache = CacheConfig()
        self.tiers = [:]
        self.node = node
        self.ollama = ollama
        self.metrics = metrics
        self.agents = agents
        self.mesh = mesh
        self.swapper = swapper
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case node, ollama, metrics, agents, mesh, swapper, router, providers, cloudModels = "cloud_models", compat, budgets, alerts, cache, tiers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        node = try c.decode(.node, default: NodeSection())
        // Absent: look for a local Ollama at its default address; `ollama: null`: none.
        ollama = c.contains(.ollama) ? try c.decodeIfPresent(OllamaSection.self, forKey: .ollama) : NodeConfig.defaultOllama
        metrics = try c.decode(.metrics, default: MetricsSection())
        agents = try c.decode(.agents, default: [])
        mesh = try c.decode(.mesh, default: MeshConfig())
        router = try c.decode(.router, default: RouterConfig())
        providers = try c.decode(.providers, default: [:])
        cloudModels = try c.decode(.cloudModels, default: [:])
        compat = try c.decode(.compat, default: CompatConfig())
        budgets = try c.decode(.budgets, default: BudgetsConfig())
        alerts = try c.decode(.alerts, default: AlertsConfig())
        cache = try c.decode(.cache, default: CacheConfig())
        tiers = try c.decode(.tiers, default: [:])
        for name in tiers.keys where !MeshName.isValid(name) {
            throw DecodingError.dataCorruptedError(forKey: .tiers, in: c, debugDescription: "invalid tier name \"\(name)\" (letters, digits, '.', '-', '_')")
        }
        for name in budgets.providers.keys where providers[name] == nil {
            throw DecodingError.dataCorruptedError(forKey: .budgets, in: c, debugDescription: "budgets.providers names \"\(name)\", which providers: does not list")
        }
        for name in providers.keys where !MeshName.isValid(name) {
            throw DecodingError.dataCorruptedError(forKey: .providers, in: c, debugDescription: "invalid provider name \"\(name)\" (letters, digits, '.', '-', '_')")
        }
        for (name, model) in cloudModels {
            guard providers[model.provider] != nil else {
                throw DecodingError.dataCorruptedError(
                    forKey: .cloudModels, in: c,
                    debugDescription: "cloud model \"\(name)\" names provider \"\(model.provider)\", which providers: does not list"
                )
            }
            guard !name.contains("/"), !name.isEmpty, name.utf8.count <= 256 else {
                throw DecodingError.dataCorruptedError(forKey: .cloudModels, in: c, debugDescription: "cloud model names cannot contain \"/\" (it pins a provider or node)")
            }
        }
        if let path = try? c.decodeIfPresent(String.self, forKey: .swapper) {
            swapper = try SwapperConfig.load(path: ConfigContext.resolve(path))
        } else {
            swapper = try c.decodeIfPresent(SwapperConfig.self, forKey: .swapper)
        }
        var seen = Set<String>()
        for agent in agents where !seen.insert(agent.name).inserted {
            throw DecodingError.dataCorruptedError(forKey: .agents, in: c, debugDescription: "agent \"\(agent.name)\" is listed twice")
        }
    }

    /// Reads and validates a YAML config file; throws ``ConfigError`` naming each bad key and line.
    public static func load(path: String) throws -> NodeConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, issues: [.init(path: "", line: nil, message: "cannot read the file: \(error.localizedDescription)")])
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try ConfigContext.$directory.withValue(directory.isEmpty ? "." : directory) {
            try YAMLConfigDecoder.decode(NodeConfig.self, from: text, file: path)
        }
    }
}

/// Where relative paths in the config file being read are resolved from.
enum ConfigContext {
    @TaskLocal static var directory = "."

    /// `path`, relative to the config file's directory unless absolute.
    static func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }
}

/// `node:` — identity, address and storage.
public struct NodeSection: Sendable, Decodable {
    /// Stable node id; default: the host name.
    public var id: String?
    /// API address; default 127.0.0.1:7007.
    public var listen: HostPort
    /// Where peers reach this node, when `listen` is not it (NAT, 0.0.0.0).
    public var advertiseURL: HTTPURL?
    /// Default: `$DAGI_HOME`, else the platform's user data directory.
    public var dataDir: String?
    /// Serve the node's port over TLS with this certificate and key.
    public var tls: TLSSection?
    /// Open connections at most; more are closed at once.
    public var maxConnections: Int
    /// A connection with no request in progress closes after this long.
    public var idleTimeout: ConfigDuration
    /// A request's head and body must arrive within this long.
    public var requestReadTimeout: ConfigDuration
    /// Environment variable holding the admin token (administration from other machines).
    public var adminTokenEnv: String
    /// Serve `/v1/node`, `/v1/nodes`, `/v1/agents` and `/metrics` to anyone.
    public var publicInfo: Bool

    public static let defaultListen = HostPort(host: "127.0.0.1", port: 7007)

    public init(id: String? = nil, listen: HostPort = NodeSection.defaultListen, advertiseURL: HTTPURL? = nil, dataDir: String? = nil) {
        self.id = id
        self.listen = listen
        self.advertiseURL = advertiseURL
        self.dataDir = dataDir
        self.maxConnections = 1024
        self.idleTimeout = .seconds(75)
        self.requestReadTimeout = .seconds(60)
        self.adminTokenEnv = "DAGI_ADMIN_TOKEN"
        self.publicInfo = false
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, listen, advertiseURL = "advertise_url", dataDir = "data_dir", tls, maxConnections = "max_connections"
        case idleTimeout = "idle_timeout", requestReadTimeout = "request_read_timeout", adminTokenEnv = "admin_token_env"
        case publicInfo = "public_info"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        if let id, !MeshName.isValid(id) {
            throw DecodingError.dataCorruptedError(
                forKey: .id, in: c,
                debugDescription: "invalid node id \"\(id)\" (letters, digits, '.', '-', '_'; at most 64)"
            )
        }
        listen = try c.decode(.listen, default: NodeSection.defaultListen)
        advertiseURL = try c.decodeIfPresent(HTTPURL.self, forKey: .advertiseURL)
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir)
        tls = try c.decodeIfPresent(TLSSection.self, forKey: .tls)
        let d = NodeSection()
        maxConnections = try c.decode(.maxConnections, default: d.maxConnections)
        idleTimeout = try c.decode(.idleTimeout, default: d.idleTimeout)
        requestReadTimeout = try c.decode(.requestReadTimeout, default: d.requestReadTimeout)
        adminTokenEnv = try c.decode(.adminTokenEnv, default: d.adminTokenEnv)
        publicInfo = try c.decode(.publicInfo, default: d.publicInfo)
        guard (1...1_000_000).contains(maxConnections) else {
            throw DecodingError.dataCorruptedError(forKey: .maxConnections, in: c, debugDescription: "max_connections must be 1...1000000")
        }
        for (value, key) in [(idleTimeout, CodingKeys.idleTimeout), (requestReadTimeout, .requestReadTimeout)]
        where value.milliseconds < 100 || value.milliseconds > 86_400_000 {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be 100ms...24h")
        }
    }

    /// The limits the router's connection handler applies.
    public var serverLimits: ServerLimits {
        ServerLimits(maxConnections: maxConnections, idleTimeout: idleTimeout.duration, requestReadTimeout: requestReadTimeout.duration)
    }
}

/// `node.tls:` — the node's certificate chain and private key (PEM files).
public struct TLSSection: Sendable, Decodable {
    public var cert: String
    public var key: String

    enum CodingKeys: String, CodingKey, CaseIterable { case cert, key }

    public init(cert: String, key: String) {
        self.cert = cert
        self.key = key
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cert = ConfigContext.resolve(try c.decode(String.self, forKey: .cert))
        key = ConfigContext.resolve(try c.decode(String.self, forKey: .key))
        for (file, keyName) in [(cert, CodingKeys.cert), (key, .key)] where !FileManager.default.isReadableFile(atPath: file) {
            throw DecodingError.dataCorruptedError(forKey: keyName, in: c, debugDescription: "cannot read \(file)")
        }
    }
}

/// `ollama:` — a local Ollama server whose models this node reports.
public struct OllamaSection: Sendable, Decodable {
    public var url: HTTPURL
    /// How often to re-read `/api/tags` and `/api/ps`.
    public var refresh: ConfigDuration
    /// Per-request timeout when talking to Ollama.
    public var timeout: ConfigDuration

    public init(url: HTTPURL, refresh: ConfigDuration = .seconds(15), timeout: ConfigDuration = .seconds(5)) {
        self.url = url
        self.refresh = refresh
        self.timeout = timeout
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case url, refresh, timeout }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decode(HTTPURL.self, forKey: .url)
        refresh = try c.decode(.refresh, default: .seconds(15))
        timeout = try c.decode(.timeout, default: .seconds(5))
    }
}

/// `metrics:` — sampling and retention.
public struct MetricsSection: Sendable, Decodable {
    public var interval: ConfigDuration
    public var rawRetention: ConfigDuration
    public var rollupRetention: ConfigDuration
    public var minuteRollupRetention: ConfigDuration
    public var usageRetention: ConfigDuration
    /// Hourly usage rollups outlive the per-request rows.
    public var usageRollupRetention: ConfigDuration

    public init(
        interval: ConfigDuration = .seconds(10), rawRetention: ConfigDuration = .hours(24),
        rollupRetention: ConfigDuration = .days(30), minuteRollupRetention: ConfigDuration = .days(7),
        usageRetention: ConfigDuration = .days(35), usageRollupRetention: ConfigDuration = .days(400)
    ) {
        self.interval = interval
        self.rawRetention = rawRetention
        self.rollupRetention = rollupRetention
        self.minuteRollupRetention = minuteRollupRetention
        self.usageRetention = usageRetention
        self.usageRollupRetention = usageRollupRetention
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case interval, rawRetention = "raw_retention", rollupRetention = "rollup_retention"
        case minuteRollupRetention = "minute_rollup_retention", usageRetention = "usage_retention"
        case usageRollupRetention = "usage_rollup_retention"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MetricsSection()
        interval = try c.decode(.interval, default: defaults.interval)
        rawRetention = try c.decode(.rawRetention, default: defaults.rawRetention)
        rollupRetention = try c.decode(.rollupRetention, default: defaults.rollupRetention)
        minuteRollupRetention = try c.decode(.minuteRollupRetention, default: defaults.minuteRollupRetention)
        usageRetention = try c.decode(.usageRetention, default: defaults.usageRetention)
        usageRollupRetention = try c.decode(.usageRollupRetention, default: defaults.usageRollupRetention)
        guard interval.milliseconds >= 100 else {
            throw DecodingError.dataCorruptedError(forKey: .interval, in: c, debugDescription: "interval must be at least 100ms")
        }
        guard rawRetention >= interval else {
            throw DecodingError.dataCorruptedError(forKey: .rawRetention, in: c, debugDescription: "raw_retention must be at least the interval")
        }
    }
}

/// One entry of `agents:`.
public struct AgentConfig: Sendable, Decodable {
    public var name: String
    public var tier: String
    /// Nodes the agent is assigned to, in priority order.
    public var assign: [String]
    public var allowCloud: Bool
    public var staleAfter: ConfigDuration
    /// Name of the environment variable holding the agent's API key.
    public var keyEnv: String?
    /// SHA-256 (hex) of the agent's API key, instead of `key_env`.
    public var keySHA256: String?
    public var preferNodes: [String]
    /// Allowed model names (logical or physical); empty allows all.
    public var models: [String]
    public var budgetDailyUSD: Double?
    public var budgetMonthlyUSD: Double?
    /// Requests per minute this agent may make, counted across the mesh.
    public var rpm: Int?
    /// Tokens (prompt and completion) per minute this agent may use, counted across the mesh.
    public var tpm: Int?
    /// Past a budget: downgrade (cloud left out) or block (requests for cloud models refused).
    public var onExceed: BudgetAction?
    /// Priority, min_interval and prompt_cache.
    public var callPolicy = CallPolicy()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, tier, assign, allowCloud = "allow_cloud", staleAfter = "stale_after", keyEnv = "key_env"
        case keySHA256 = "key_sha256", preferNodes = "prefer_nodes", models
        case budgetDailyUSD = "budget_daily_usd", budgetMonthlyUSD = "budget_monthly_usd", rpm, tpm
        case budget, priority, minInterval = "min_interval", promptCache = "prompt_cache"
    }

    public init(name: String, tier: String = "standard", assign: [String] = [], allowCloud: Bool = false, staleAfter: ConfigDuration = .minutes(5)) {
        self.name = name
        self.tier = tier
        self.assign = assign
        self.allowCloud = allowCloud
        self.staleAfter = staleAfter
        self.preferNodes = []
        self.models = []
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        guard MeshName.isValid(name) else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "invalid agent name \"\(name)\" (letters, digits, '.', '-', '_')")
        }
        tier = try c.decode(.tier, default: "standard")
        assign = try c.decode(.assign, default: [])
        allowCloud = try c.decode(.allowCloud, default: false)
        staleAfter = try c.decode(.staleAfter, default: .minutes(5))
        keyEnv = try c.decodeIfPresent(String.self, forKey: .keyEnv)
        keySHA256 = try c.decodeIfPresent(String.self, forKey: .keySHA256)
        if let hash = keySHA256, hash.count != 64 || !hash.allSatisfy(\.isHexDigit) {
            throw DecodingError.dataCorruptedError(forKey: .keySHA256, in: c, debugDescription: "key_sha256 must be 64 hex digits")
        }
        if keyEnv != nil, keySHA256 != nil {
            throw DecodingError.dataCorruptedError(forKey: .keySHA256, in: c, debugDescription: "give key_env or key_sha256, not both")
        }
        preferNodes = try c.decode(.preferNodes, default: [])
        models = try c.decode(.models, default: [])
        budgetDailyUSD = try c.decodeIfPresent(Double.self, forKey: .budgetDailyUSD)
        budgetMonthlyUSD = try c.decodeIfPresent(Double.self, forKey: .budgetMonthlyUSD)
        for (value, key) in [(budgetDailyUSD, CodingKeys.budgetDailyUSD), (budgetMonthlyUSD, .budgetMonthlyUSD)] {
            if let value, !(value == 0 || (1e-6...1e9).contains(value)) {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.stringValue) must be 0, or 0.000001...1000000000 USD")
            }
        }
        rpm = try c.decodeIfPresent(Int.self, forKey: .rpm)
        if let rpm, !(1...1_000_000_000).contains(rpm) {
            throw DecodingError.dataCorruptedError(forKey: .rpm, in: c, debugDescription: "rpm must be 1...1000000000")
        }
        // `budget: { daily, monthly, on_exceed }`, or the flat keys it grew from.
        if let budget = try c.decodeIfPresent(BudgetLimit.self, forKey: .budget) {
            guard budgetDailyUSD == nil, budgetMonthlyUSD == nil else {
                throw DecodingError.dataCorruptedError(forKey: .budget, in: c, debugDescription: "give budget: or budget_daily_usd/budget_monthly_usd, not both")
            }
            budgetDailyUSD = budget.daily
            budgetMonthlyUSD = budget.monthly
            onExceed = budget.onExceed
        }
        tpm = try c.decodeIfPresent(Int.self, forKey: .tpm)
        if let tpm, !(1...1_000_000_000_000).contains(tpm) {
            throw DecodingError.dataCorruptedError(forKey: .tpm, in: c, debugDescription: "tpm must be 1...1000000000000")
        }
        if let name = try c.decodeIfPresent(String.self, forKey: .priority) {
            guard let priority = RequestPriority(name: name) else {
                throw DecodingError.dataCorruptedError(forKey: .priority, in: c, debugDescription: "priority must be low, normal or high")
            }
            callPolicy.priority = priority
        }
        if let interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .minInterval) {
            guard CallPolicy.minIntervalRange.contains(interval.milliseconds) else {
                throw DecodingError.dataCorruptedError(forKey: .minInterval, in: c, debugDescription: "min_interval must be 1s...1d")
            }
            callPolicy.minIntervalMs = interval.milliseconds
        }
        if let mode = try c.decodeIfPresent(String.self, forKey: .promptCache) {
            guard mode == "auto" || mode == "off" else {
                throw DecodingError.dataCorruptedError(forKey: .promptCache, in: c, debugDescription: "prompt_cache must be auto or off")
            }
            callPolicy.promptCache = mode == "auto"
        }
    }
}
