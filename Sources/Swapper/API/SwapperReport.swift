/// `GET /swapper/running`: this machine's models, the number of swaps since start, and the
/// lifetimes of the last model processes (see ``ProcessHistory``).
public struct SwapperReport: Sendable, Encodable {
    public var models: [ModelStatus]
    /// Models stopped to make room for another one.
    public var swaps: Int
    var history: [ProcessHistory.Run]
}

/// Public view of one model's runtime state.
public struct ModelStatus: Sendable, Codable, Equatable {
    public var model: String
    public var state: String
    public var pid: Int?
    public var port: Int?
    public var inflight: Int
    public var queued: Int
    public var starts: Int
    public var lastUsed: Int64?
    public var ttlSeconds: Int?
    public var memoryBytes: Int64?
    public var lastError: String?
    public var aliases: [String]

    enum CodingKeys: String, CodingKey {
        case model, state, pid, port, inflight, queued, starts, lastUsed = "last_used", ttlSeconds = "ttl_seconds"
        case memoryBytes = "memory_bytes", lastError = "last_error", aliases
    }
}
