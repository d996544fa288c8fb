import Foundation
import MeshCore
import MeshHTTP

/// `swapper:` — the local model servers this node starts and stops on demand.
///
///     swapper:
///       start_port: 5800
///       health_check_timeout: 60s
///       memory_budget: 8GiB
///       models:
///         smollm2:
///           cmd: llama-server -m ${MODEL_PATH} --port ${PORT} -t 1
///           model_path: /models/SmolLM2-135M-Instruct.Q4_1.gguf
///           memory: 300MiB
///           ttl: 300s
///           aliases: [tiny]
///       groups:
///         small: { members: [smollm2, gemma3-270m], exclusive: true }
///
/// Everything is validated when the config is read (commands found, macros known, files
/// present, groups consistent), so a guardian never runs half-configured.
public struct SwapperConfig: Sendable, Decodable {
    /// First port tried for `${PORT}`; each start takes the next free one.
    public var startPort: Int
    public var healthCheckTimeout: ConfigDuration
    /// Sum of model memory (estimate or measured, whichever is larger) allowed loaded at once.
    public var memoryBudget: ByteSize?
    /// Idle time after which any model without its own `ttl` is unloaded.
    public var globalTTL: ConfigDuration?
    /// SIGTERM-to-SIGKILL grace when stopping a model.
    public var stopTimeout: ConfigDuration
    /// Longest wait for a model's in-flight requests before it is evicted to make room.
    public var swapTimeout: ConfigDuration
    /// Requests that may wait for one model (while it loads or is busy) before 429s.
    public var queueLimit: Int
    /// Output lines kept per model for `/swapper/logs/{model}`.
    public var logLines: Int
    public var macros: [String: String]
    public var models: [String: SwapperModelConfig]
    public var groups: [String: SwapperGroupConfig]

    public init(models: [String: SwapperModelConfig] = [:], groups: [String: SwapperGroupConfig] = [:]) {
        startPort = 5800
        healthCheckTimeout = .seconds(60)
        memoryBudget = nil
        globalTTL = nil
        stopTimeout = .seconds(10)
        swapTimeout = .seconds(30)
        queueLimit = 64
        logLines = 500
        macros = [:]
        self.models = models
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey {
        case startPort = "start_port", healthCheckTimeout = "health_check_timeout", memoryBudget = "memory_budget"
        case globalTTL = "global_ttl", stopTimeout = "stop_timeout", swapTimeout = "swap_timeout"
        case queueLimit = "queue_limit", logLines = "log_lines", macros, models, groups
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SwapperConfig()
        startPort = try c.decode(.startPort, default: d.startPort)
        guard (1024...65000).contains(startPort) else {
            throw DecodingError.dataCorruptedError(forKey: .startPort, in: c, debugDescription: "start_port must be 1024...65000")
        }
        healthCheckTimeout = try c.decode(.healthCheckTimeout, default: d.healthCheckTimeout)
        memoryBudget = try c.decodeIfPresent(ByteSize.self, forKey: .memoryBudget)
        globalTTL = try c.decodeIfPresent(ConfigDuration.self, forKey: .globalTTL)
        stopTimeout = try c.decode(.stopTimeout, default: d.stopTimeout)
        swapTimeout = try c.decode(.swapTimeout, default: d.swapTimeout)
        queueLimit = try c.decode(.queueLimit, default: d.queueLimit)
        guard queueLimit >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .queueLimit, in: c, debugDescription: "queue_limit must be at least 1")
        }
        logLines = try c.decode(.logLines, default: d.logLines)
        macros = try c.decode(.macros, default: [:])
        for name in macros.keys where !Macros.isValidName(name) {
            throw DecodingError.dataCorruptedError(forKey: .macros, in: c, debugDescription: "invalid macro name \"\(name)\" (A-Z, 0-9, _)")
        }
        // Models see the global macros while they validate their command.
        let modelsContainer = try? c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .models)
        var models: [String: SwapperModelConfig] = [:]
        for key in modelsContainer?.allKeys ?? [] {
            var model = try modelsContainer!.decode(SwapperModelConfig.self, forKey: key)
            model.name = key.stringValue
            try model.validate(globalMacros: macros, at: modelsContainer!, key: key)
            models[key.stringValue] = model
        }
        self.models = models
        groups = try c.decode(.groups, default: [:])
        try validateNames(c)
        try validateGroups(c)
        if let budget = memoryBudget, let (name, model) = models.first(where: { ($0.value.memory?.bytes ?? 0) > budget.bytes }) {
            throw DecodingError.dataCorruptedError(
                forKey: .memoryBudget, in: c,
                debugDescription: "model \(name) needs \(model.memory!) but memory_budget is \(budget)"
            )
        }
    }

    private func validateNames(_ c: KeyedDecodingContainer<CodingKeys>) throws {
        var owner: [String: String] = [:]
        for (name, _) in models { owner[name] = name }
        for (name, model) in models.sorted(by: { $0.key < $1.key }) {
            for alias in model.aliases {
                if let other = owner[alias], other != name || alias == name {
                    throw DecodingError.dataCorruptedError(
                        forKey: .models, in: c, debugDescription: "alias \"\(alias)\" of \(name) is already the name or an alias of \(other)"
                    )
                }
                owner[alias] = name
            }
        }
    }

    private func validateGroups(_ c: KeyedDecodingContainer<CodingKeys>) throws {
        var exclusiveOwner: [String: String] = [:]
        for (group, config) in groups.sorted(by: { $0.key < $1.key }) {
            for member in config.members {
                guard models[member] != nil else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .groups, in: c, debugDescription: "group \(group) lists \"\(member)\", which is not a model in swapper.models"
                    )
                }
                if config.exclusive {
                    if let other = exclusiveOwner[member] {
                        throw DecodingError.dataCorruptedError(
                            forKey: .groups, in: c, debugDescription: "model \(member) is in two exclusive groups (\(other), \(group))"
                        )
                    }
                    exclusiveOwner[member] = group
                }
            }
        }
    }

    /// The configured model a name or alias refers to.
    public func model(named name: String) -> SwapperModelConfig? {
        models[name] ?? models.values.first { $0.aliases.contains(name) }
    }
}

/// One entry of `swapper.models`.
public struct SwapperModelConfig: Sendable, Decodable {
    /// The key in `swapper.models`; the model's name and `${MODEL_ID}`.
    public internal(set) var name: String = ""
    /// The command line, split like a shell would (quotes respected, no shell features).
    public var cmd: String
    public var modelPath: String?
    /// Where requests go; default `http://127.0.0.1:${PORT}`.
    public var proxy: String
    /// Polled until it answers 200 after a start.
    public var checkEndpoint: String
    public var ttl: ConfigDuration?
    public var aliases: [String]
    public var env: [String: String]
    /// Memory estimate, used by the budget until the process's real size is known.
    public var memory: ByteSize?
    /// Requests served at once; more wait in the queue.
    public var concurrency: Int?
    public var macros: [String: String]

    enum CodingKeys: String, CodingKey {
        case cmd, modelPath = "model_path", proxy, checkEndpoint = "check_endpoint", ttl, aliases, env, memory
        case concurrency, macros
    }

    public init(cmd: String, modelPath: String? = nil, ttl: ConfigDuration? = nil, aliases: [String] = [], memory: ByteSize? = nil) {
        self.cmd = cmd
        self.modelPath = modelPath
        self.proxy = "http://127.0.0.1:${PORT}"
        self.checkEndpoint = "/health"
        self.ttl = ttl
        self.aliases = aliases
        self.env = [:]
        self.memory = memory
        self.macros = [:]
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cmd = try c.decode(String.self, forKey: .cmd)
        modelPath = try c.decodeIfPresent(String.self, forKey: .modelPath)
        proxy = try c.decode(.proxy, default: "http://127.0.0.1:${PORT}")
        checkEndpoint = try c.decode(.checkEndpoint, default: "/health")
        guard checkEndpoint.hasPrefix("/") else {
            throw DecodingError.dataCorruptedError(forKey: .checkEndpoint, in: c, debugDescription: "check_endpoint must start with /")
        }
        ttl = try c.decodeIfPresent(ConfigDuration.self, forKey: .ttl)
        aliases = try c.decode(.aliases, default: [])
        // `env` as a mapping, or as llama-swap's list of "NAME=value".
        if let list = try? c.decodeIfPresent([String].self, forKey: .env) {
            var env: [String: String] = [:]
            for item in list {
                guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                    throw DecodingError.dataCorruptedError(forKey: .env, in: c, debugDescription: "env entry \"\(item)\" is not NAME=value")
                }
                env[String(item[..<eq])] = String(item[item.index(after: eq)...])
            }
            self.env = env
        } else {
            env = try c.decode(.env, default: [:])
        }
        memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency)
        if let concurrency, concurrency < 1 {
            throw DecodingError.dataCorruptedError(forKey: .concurrency, in: c, debugDescription: "concurrency must be at least 1")
        }
        macros = try c.decode(.macros, default: [:])
    }

    /// Checks what can only be checked with the model's name and the global macros: every
    /// macro resolves, the program exists, the model file exists, the port is used.
    mutating func validate(globalMacros: [String: String], at container: KeyedDecodingContainer<AnyCodingKey>, key: AnyCodingKey) throws {
        func fail(_ message: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "\(name): \(message)")
        }
        if let path = modelPath, !FileManager.default.fileExists(atPath: path) {
            throw fail("model_path \(path) does not exist")
        }
        let probe = Macros(global: globalMacros, model: self, port: 1)
        let argv: [String]
        do {
            argv = try probe.expand(CommandSplitter.split(cmd))
            _ = try probe.expand(proxy)
        } catch {
            throw fail("\(error)")
        }
        guard let program = argv.first else { throw fail("cmd is empty") }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard ChildProcess.resolve(program, path: env["PATH"] ?? path) != nil else {
            throw fail("command not found: \(program) (give a full path or add it to PATH)")
        }
        guard cmd.contains("${PORT}") || !proxy.contains("${PORT}") else {
            throw fail("cmd must pass ${PORT} to the server, or proxy must name a fixed address")
        }
        guard HTTPURL(parsing: (try? probe.expand(proxy)) ?? "") != nil else { throw fail("proxy is not an http URL") }
    }
}

/// One entry of `swapper.groups`.
public struct SwapperGroupConfig: Sendable, Decodable {
    public var members: [String]
    /// Members are mutually exclusive: loading one unloads the others.
    public var exclusive: Bool
    /// Members are never evicted to make room for other models (TTL still applies).
    public var persistent: Bool

    enum CodingKeys: String, CodingKey { case members, exclusive, persistent }

    public init(members: [String], exclusive: Bool = false, persistent: Bool = false) {
        self.members = members
        self.exclusive = exclusive
        self.persistent = persistent
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        members = try c.decode([String].self, forKey: .members)
        exclusive = try c.decode(.exclusive, default: false)
        persistent = try c.decode(.persistent, default: false)
    }
}

/// A coding key for mappings whose keys are names (models, groups).
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension SwapperConfig {
    /// Reads a file holding only the swapper section, either under a `swapper:` key or bare.
    public static func load(path: String) throws -> SwapperConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, issues: [.init(path: "", line: nil, message: "cannot read the file: \(error.localizedDescription)")])
        }
        return try YAMLConfigDecoder.decode(SwapperFile.self, from: text, file: path).config
    }
}

/// A stand-alone swapper config file: `swapper: {...}`, or the section's keys at the top.
struct SwapperFile: Decodable {
    let config: SwapperConfig

    enum CodingKeys: String, CodingKey { case swapper }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.swapper) {
            config = try c.decode(SwapperConfig.self, forKey: .swapper)
        } else {
            config = try SwapperConfig(from: decoder)
        }
    }
}
