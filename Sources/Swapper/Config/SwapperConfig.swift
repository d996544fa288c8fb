import Foundation
import MeshCore
import MeshHTTP

/// `swapper:` — the local model servers this node starts and stops on demand.
///
///     swapper:
///       start_port: 5800
///       health_check_timeout: 60s
///       memory_budget: 8GiB
///       models_dir: ~/models          # every *.gguf here is a model too (see ModelFolder)
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
    /// How long a model being swapped out keeps serving its run once another model asks for its
    /// place, and then how long its requests in flight may take before the swap is given up
    /// (see ``SwapTurn``).
    public var swapTimeout: ConfigDuration
    /// How long a model being swapped out stays idle before its run ends, so an agent's next
    /// request joins the run instead of costing two swaps.
    public var swapLinger: ConfigDuration
    /// Requests that may wait for one model (while it loads or is busy) before 429s.
    public var queueLimit: Int
    /// Output lines kept per model for `/swapper/logs/{model}`.
    public var logLines: Int
    public var macros: [String: String]
    /// A folder whose GGUF files are served as models with no entry of their own (see
    /// ``ModelFolder``), besides the node's own `models` folder in its data directory.
    public var modelsDir: String?
    public var models: [String: SwapperModelConfig]
    public var groups: [String: SwapperGroupConfig]

    public init(models: [String: SwapperModelConfig] = [:], groups: [String: SwapperGroupConfig] = [:]) {
        startPort = 5800
        healthCheckTimeout = .seconds(60)
        memoryBudget = nil
        globalTTL = nil
        stopTimeout = .seconds(10)
        swapTimeout = .seconds(30)
        swapLinger = .init(milliseconds: 250)
        queueLimit = 64
        logLines = 500
        macros = [:]
        self.models = models
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case startPort = "start_port", healthCheckTimeout = "health_check_timeout", memoryBudget = "memory_budget"
        case globalTTL = "global_ttl", stopTimeout = "stop_timeout", swapTimeout = "swap_timeout", swapLinger = "swap_linger"
        case queueLimit = "queue_limit", logLines = "log_lines", macros, modelsDir = "models_dir", models, groups
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SwapperConfig()
        startPort = try c.decode(.startPort, default: d.startPort, in: ConfigBounds.port)
        healthCheckTimeout = try c.decode(.healthCheckTimeout, default: d.healthCheckTimeout, in: ConfigBounds.healthCheckTimeout)
        memoryBudget = try c.decodeIfPresent(.memoryBudget, in: ConfigBounds.memory)
        globalTTL = try c.decodeIfPresent(.globalTTL, in: ConfigBounds.ttl)
        stopTimeout = try c.decode(.stopTimeout, default: d.stopTimeout, in: ConfigBounds.stopTimeout)
        swapTimeout = try c.decode(.swapTimeout, default: d.swapTimeout, in: ConfigBounds.waitTimeout)
        swapLinger = try c.decode(.swapLinger, default: d.swapLinger, in: ConfigBounds.swapLinger)
        queueLimit = try c.decode(.queueLimit, default: d.queueLimit, in: ConfigBounds.queueLimit)
        logLines = try c.decode(.logLines, default: d.logLines, in: ConfigBounds.logLines)
        macros = try c.decode(.macros, default: [:])
        if let folder = try c.decodeIfPresent(String.self, forKey: .modelsDir) {
            guard folder.hasPrefix("/") || folder.hasPrefix("~/") else {
                throw DecodingError.dataCorruptedError(forKey: .modelsDir, in: c, debugDescription: "models_dir must be an absolute path (or start with ~/)")
            }
            modelsDir = DataDirectory.resolve(folder)
        }
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

    /// The ports `${PORT}` may take: 2000 from `start_port`, never past 65535.
    var ports: ClosedRange<Int> { startPort...min(startPort + 1999, 65535) }

    /// The longest a request may wait for a lease: a load, plus a swap's run and drain, plus
    /// stopping the model it replaces.
    public var longestWait: Duration {
        healthCheckTimeout.duration + swapTimeout.duration * 2 + stopTimeout.duration + .seconds(10)
    }

    /// The configured model a name or alias refers to.
    public func model(named name: String) -> SwapperModelConfig? {
        models[name] ?? models.values.first { $0.aliases.contains(name) }
    }
}
