import MeshCore

/// `cache:` — answers to deterministic requests kept on this node, and identical requests in
/// flight at once merged into one upstream call.
///
///     cache:
///       enabled: true
///       ttl: 1h                 # how long an answer is served again
///       max_size: 64MiB         # all answers together (the oldest give way)
///       max_entry_size: 1MiB    # a larger answer is not kept
///       shared: false           # true: one agent's answer serves another asking the same
///
/// A request is cacheable when it is deterministic (`temperature: 0`, Ollama's
/// `options.temperature: 0`, any embeddings request), says `x-dagi-cache: force`, or comes from
/// an agent with a `min_interval`; `Cache-Control: no-cache` skips the lookup, `no-store` the
/// keeping, and `x-dagi-cache: off` both and the merging.
public struct CacheConfig: Sendable, Decodable {
    public var enabled: Bool
    public var ttl: ConfigDuration
    public var maxSize: ByteSize
    public var maxEntrySize: ByteSize
    /// Whether answers are shared across agents (else each agent has its own).
    public var shared: Bool

    public init(enabled: Bool = true, ttl: ConfigDuration = .hours(1), maxSize: ByteSize = .mebibytes(64), maxEntrySize: ByteSize = .mebibytes(1), shared: Bool = false) {
        self.enabled = enabled
        self.ttl = ttl
        self.maxSize = maxSize
        self.maxEntrySize = maxEntrySize
        self.shared = shared
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, ttl, maxSize = "max_size", maxEntrySize = "max_entry_size", shared
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CacheConfig()
        enabled = try c.decode(.enabled, default: d.enabled)
        ttl = try c.decode(.ttl, default: d.ttl)
        maxSize = try c.decode(.maxSize, default: d.maxSize)
        maxEntrySize = try c.decode(.maxEntrySize, default: d.maxEntrySize)
        shared = try c.decode(.shared, default: d.shared)
        guard ttl.milliseconds >= 1000, ttl.milliseconds <= 366 * 86_400_000 else {
            throw DecodingError.dataCorruptedError(forKey: .ttl, in: c, debugDescription: "ttl must be 1s...366d")
        }
        guard maxSize.bytes >= 0, maxSize.bytes <= 16 << 30 else {
            throw DecodingError.dataCorruptedError(forKey: .maxSize, in: c, debugDescription: "max_size must be 0...16GiB")
        }
        guard maxEntrySize.bytes >= 1024, maxEntrySize.bytes <= 64 << 20 else {
            throw DecodingError.dataCorruptedError(forKey: .maxEntrySize, in: c, debugDescription: "max_entry_size must be 1KiB...64MiB")
        }
    }
}

extension CacheConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension CacheConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = CacheConfig()
        switch self {
        case .enabled: return ("\(d.enabled)", "answer repeated deterministic requests (temperature 0, embeddings, x-dagi-cache: force) from this node's cache, and merge identical ones in flight")
        case .ttl: return ("\(d.ttl)", "how long a kept answer is served again")
        case .maxSize: return ("\(d.maxSize)", "all kept answers together, in memory and in the cache file; the oldest give way")
        case .maxEntrySize: return ("\(d.maxEntrySize)", "an answer larger than this is not kept")
        case .shared: return ("\(d.shared)", "one agent's kept answer serves another agent asking the same (else each agent has its own)")
        }
    }
}
