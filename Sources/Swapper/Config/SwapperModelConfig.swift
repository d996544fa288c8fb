import Foundation
import MeshCore
import MeshHTTP
import MeshStore

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

    enum CodingKeys: String, CodingKey, CaseIterable {
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
        ttl = try c.decodeIfPresent(.ttl, in: ConfigBounds.ttl)
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
        memory = try c.decodeIfPresent(.memory, in: ConfigBounds.memory)
        concurrency = try c.decodeIfPresent(.concurrency, in: ConfigBounds.concurrency)
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

extension SwapperModelConfig {
    /// Requests the model's server answers at once, where the config says: llama-server's
    /// `-np N` / `--parallel N` in `cmd`, or `concurrency` (the fewer of the two). Nil when
    /// neither does. (The server is asked too, and the fewest count; see ``Swapper/reportedSlots``.)
    public var declaredSlots: Int? {
        let limit = concurrency.map { min($0, ModelLoadRecord.slotRange.upperBound) }
        guard let parallel = Self.parallelSlots(in: CommandSplitter.split(cmd)) else { return limit }
        return min(parallel, limit ?? parallel)
    }

    private static func parallelSlots(in argv: [String]) -> Int? {
        for (index, word) in argv.enumerated() {
            for flag in ["-np", "--parallel"] {
                let value: Substring?
                if word == flag, index + 1 < argv.count {
                    value = Substring(argv[index + 1])
                } else if word.hasPrefix(flag + "=") {
                    value = word.dropFirst(flag.count + 1)
                } else {
                    value = nil
                }
                if let value, let slots = Int(value), ModelLoadRecord.slotRange.contains(slots) { return slots }
            }
        }
        return nil
    }
}
