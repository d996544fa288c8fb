import MeshCore
import MeshHTTP
import MeshStore

/// `router:` — the OpenAI- and Ollama-compatible endpoint agents call.
///
///     router:
///       open_localhost: false          # true: unauthenticated calls from 127.0.0.1 act as agent "local"
///       request_timeout: 120s
///       max_body: 8MiB
///       aliases:
///         fast: [smollm2, qwen2.5:0.5b]   # logical name -> model names, in order of preference
public struct RouterConfig: Sendable, Decodable {
    public var openLocalhost: Bool
    /// Total deadline of a request, failovers included (for a stream: until its first byte).
    public var requestTimeout: ConfigDuration
    /// Longest wait for one candidate's response to begin (its status and headers; for a
    /// non-streamed answer that is the whole answer) before trying the next.
    public var firstByteTimeout: ConfigDuration
    public var maxBody: ByteSize
    public var aliases: [String: [String]]
    /// Candidates tried per request before giving up.
    public var maxAttempts: Int
    /// Consecutive failures after which a candidate cools down.
    public var cooldownAfter: Int
    /// How long a failing candidate is skipped.
    public var cooldown: ConfigDuration
    /// The cloud model savings are measured against (what a request would have cost there).
    public var referenceModel: String?
    /// While a peer is silent, the part of an agent's mesh-wide rpm and tpm this node may use
    /// by itself (the peer's own use is unknown meanwhile).
    public var partitionShare: Double
    /// How much faster a peer must be expected to answer for a request to be sent there rather
    /// than served here (0.2: 20 %).
    public var spillMargin: Double
    /// Requests a local model server answers at once, by model name, where the model's command
    /// does not say (an Ollama model: `OLLAMA_NUM_PARALLEL`).
    public var slots: [String: Int]

    public init(
        openLocalhost: Bool = false, requestTimeout: ConfigDuration = .seconds(120), firstByteTimeout: ConfigDuration = .seconds(90),
        maxBody: ByteSize = .mebibytes(8),
        aliases: [String: [String]] = [:], maxAttempts: Int = 3, cooldownAfter: Int = 3, cooldown: ConfigDuration = .seconds(30),
        partitionShare: Double = 0.5, spillMargin: Double = 0.2, slots: [String: Int] = [:]
    ) {
        self.partitionShare = partitionShare
        self.spillMargin = spillMargin
        self.slots = slots
        self.openLocalhost = openLocalhost
        self.requestTimeout = requestTimeout
        self.firstByteTimeout = firstByteTimeout
        self.maxBody = maxBody
        self.aliases = aliases
        self.maxAttempts = maxAttempts
        self.cooldownAfter = cooldownAfter
        self.cooldown = cooldown
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case openLocalhost = "open_localhost", requestTimeout = "request_timeout", firstByteTimeout = "first_byte_timeout"
        case maxBody = "max_body", aliases
        case maxAttempts = "max_attempts", cooldownAfter = "cooldown_after", cooldown, referenceModel = "reference_model"
        case partitionShare = "partition_share", spillMargin = "spill_margin", slots
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RouterConfig()
        openLocalhost = try c.decode(.openLocalhost, default: d.openLocalhost)
        requestTimeout = try c.decode(.requestTimeout, default: d.requestTimeout)
        firstByteTimeout = try c.decode(.firstByteTimeout, default: d.firstByteTimeout)
        maxBody = try c.decode(.maxBody, default: d.maxBody)
        aliases = try c.decode(.aliases, default: [:])
        maxAttempts = try c.decode(.maxAttempts, default: d.maxAttempts)
        cooldownAfter = try c.decode(.cooldownAfter, default: d.cooldownAfter)
        cooldown = try c.decode(.cooldown, default: d.cooldown)
        referenceModel = try c.decodeIfPresent(String.self, forKey: .referenceModel)
        partitionShare = try c.decode(.partitionShare, default: d.partitionShare)
        spillMargin = try c.decode(.spillMargin, default: d.spillMargin)
        guard spillMargin.isFinite, (0...10).contains(spillMargin) else {
            throw DecodingError.dataCorruptedError(forKey: .spillMargin, in: c, debugDescription: "spill_margin must be 0...10 (0.2: a peer must be expected 20% faster)")
        }
        slots = try c.decode(.slots, default: [:])
        for (name, count) in slots where !ModelLoadRecord.slotRange.contains(count) {
            throw DecodingError.dataCorruptedError(forKey: .slots, in: c, debugDescription: "slots of \(name) must be \(ModelLoadRecord.slotRange)")
        }
        guard partitionShare.isFinite, partitionShare > 0, partitionShare <= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .partitionShare, in: c, debugDescription: "partition_share must be more than 0 and at most 1")
        }
        guard (1...10).contains(maxAttempts) else {
            throw DecodingError.dataCorruptedError(forKey: .maxAttempts, in: c, debugDescription: "max_attempts must be 1...10")
        }
        guard maxBody.bytes >= 1024, maxBody.bytes <= 1 << 30 else {
            throw DecodingError.dataCorruptedError(forKey: .maxBody, in: c, debugDescription: "max_body must be 1KiB...1GiB")
        }
        for (name, targets) in aliases where targets.isEmpty || targets.contains(name) {
            throw DecodingError.dataCorruptedError(
                forKey: .aliases, in: c, debugDescription: "alias \(name) must list other model names"
            )
        }
    }
}
