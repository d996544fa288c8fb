/// How busy one of a node's models is, as that node last published it: what a peer needs to
/// weigh sending a request there against serving it itself. Owned by its node, written only
/// when the load changed and at most a few times a second (see the router's load publisher).
public struct ModelLoadRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.modelLoad

    public var nodeID: String
    public var source: ModelRecord.Source
    public var name: String
    /// Requests the model server works on at once (llama-server's `-np`, a config's `slots`),
    /// within ``slotRange``.
    public var slots: Int

    /// The slots a model server may have: what peers accept, configs allow and servers are
    /// believed to report.
    public static let slotRange = 1...4096
    /// Requests being answered now (at most `slots`).
    public var inflight: Int
    /// Requests waiting for a slot.
    public var queued: Int
    /// The model's measured time to answer one request (an average), if it answered any.
    public var serviceMs: Double?
    /// When these counts were true, in milliseconds since 1970 (the owner's clock).
    public var at: Int64
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(nodeID: String, source: ModelRecord.Source, name: String, slots: Int, inflight: Int, queued: Int, serviceMs: Double?, at: Int64) {
        self.nodeID = nodeID
        self.source = source
        self.name = name
        self.slots = slots
        self.inflight = inflight
        self.queued = queued
        self.serviceMs = serviceMs
        self.at = at
    }

    /// Requests at the model, served or waiting.
    public var outstanding: Int { inflight + queued }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", source, name, slots, inflight, queued, serviceMs = "service_ms", at, origin, hlc
    }
}
