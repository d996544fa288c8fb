/// A model on one node, from Ollama or from the Swapper, loaded or not. Owned by its node.
public struct ModelRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.model

    public enum Source: String, Codable, Sendable, CaseIterable { case ollama, swapper }
    public enum State: String, Codable, Sendable, CaseIterable { case available, loading, loaded }

    public var nodeID: String
    public var source: Source
    public var name: String
    public var family: String?
    public var sizeBytes: Int64?
    public var quantization: String?
    public var parameterSize: String?
    public var state: State
    /// False when the model's source (e.g. the Ollama server) cannot be reached right now.
    public var reachable: Bool
    public var ramBytes: Int64?
    public var vramBytes: Int64?
    /// Milliseconds since 1970 of the last request served.
    public var lastUsed: Int64?
    public var pid: Int?
    public var port: Int?
    /// When `state` last changed (ms since 1970).
    public var stateSince: Int64?
    /// The last start failure, if any.
    public var error: String?
    /// A tombstone: the model is gone from its node.
    public var deleted: Bool
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(
        nodeID: String, source: Source, name: String, family: String? = nil, sizeBytes: Int64? = nil,
        quantization: String? = nil, parameterSize: String? = nil, state: State = .available, reachable: Bool = true,
        ramBytes: Int64? = nil, vramBytes: Int64? = nil, lastUsed: Int64? = nil, pid: Int? = nil, port: Int? = nil,
        stateSince: Int64? = nil, error: String? = nil, deleted: Bool = false
    ) {
        self.nodeID = nodeID
        self.source = source
        self.name = name
        self.family = family
        self.sizeBytes = sizeBytes
        self.quantization = quantization
        self.parameterSize = parameterSize
        self.state = state
        self.reachable = reachable
        self.ramBytes = ramBytes
        self.vramBytes = vramBytes
        self.lastUsed = lastUsed
        self.pid = pid
        self.port = port
        self.stateSince = stateSince
        self.error = error
        self.deleted = deleted
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", source, name, family, sizeBytes = "size_bytes", quantization
        case parameterSize = "parameter_size", state, reachable, ramBytes = "ram_bytes", vramBytes = "vram_bytes"
        case lastUsed = "last_used", pid, port, stateSince = "state_since", error, deleted, origin, hlc
    }
}
