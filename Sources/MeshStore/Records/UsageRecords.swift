import GRDB

/// One request in the usage ledger, recorded by the node where it entered the mesh (owned by
/// that node, replicated everywhere, so any node answers for the whole mesh).
///
/// `prompt` counts every input token, cached and cache-written ones included (OpenAI's
/// convention; for Anthropic: input + cache read + cache write); `completion` every output
/// token, reasoning included. Prices are USD.
public struct UsageRecord: ReplicatedRecord, SnakeCaseColumns, Equatable {
    public static let replicatedTable = ReplicatedTable.usage

    public var nodeID: String
    /// Unique on its node: the stamp of the moment it was recorded (the client's request id is
    /// not unique, nor trusted, so it is only a column).
    public var id: Int64
    public var ts: Int64
    public var requestID: String
    public var agent: String
    /// The model as the client named it.
    public var model: String
    /// The model that answered, where it ran.
    public var physicalModel: String
    /// `local`, `remote:NODE` or `cloud:PROVIDER`.
    public var route: String
    public var provider: String?
    /// The node whose model (or provider key) answered.
    public var servedBy: String
    public var promptTokens: Int64
    public var cachedTokens: Int64
    public var cacheWriteTokens: Int64
    public var completionTokens: Int64
    public var reasoningTokens: Int64
    public var latencyMs: Double
    public var ttftMs: Double?
    public var costUSD: Double
    public var savingUSD: Double
    public var cacheHit: Bool
    /// The HTTP status the client got.
    public var status: Int
    /// The token counts are estimated (the upstream reported none).
    public var estimated: Bool
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(
        nodeID: String, id: Int64, ts: Int64, requestID: String, agent: String, model: String, physicalModel: String, route: String,
        provider: String?, servedBy: String, promptTokens: Int64, cachedTokens: Int64, cacheWriteTokens: Int64, completionTokens: Int64,
        reasoningTokens: Int64, latencyMs: Double, ttftMs: Double?, costUSD: Double, savingUSD: Double, cacheHit: Bool, status: Int,
        estimated: Bool
    ) {
        self.nodeID = nodeID
        self.id = id
        self.ts = ts
        self.requestID = requestID
        self.agent = agent
        self.model = model
        self.physicalModel = physicalModel
        self.route = route
        self.provider = provider
        self.servedBy = servedBy
        self.promptTokens = promptTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.costUSD = costUSD
        self.savingUSD = savingUSD
        self.cacheHit = cacheHit
        self.status = status
        self.estimated = estimated
    }
}

/// One hour of a node's ledger for one agent, model and route, summed: kept long after the
/// request rows are pruned (`metrics.usage_rollup_retention`).
public struct UsageRollupRecord: ReplicatedRecord, SnakeCaseColumns, Equatable {
    public static let replicatedTable = ReplicatedTable.usageRollup

    public var nodeID: String
    /// The hour's start, milliseconds since 1970.
    public var hour: Int64
    public var agent: String
    public var model: String
    public var route: String
    public var requests: Int64
    public var errors: Int64
    public var promptTokens: Int64
    public var cachedTokens: Int64
    public var completionTokens: Int64
    public var reasoningTokens: Int64
    public var costUSD: Double
    public var savingUSD: Double
    /// Summed over the requests.
    public var latencyMs: Double
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(
        nodeID: String, hour: Int64, agent: String, model: String, route: String, requests: Int64, errors: Int64, promptTokens: Int64,
        cachedTokens: Int64, completionTokens: Int64, reasoningTokens: Int64, costUSD: Double, savingUSD: Double, latencyMs: Double
    ) {
        self.nodeID = nodeID
        self.hour = hour
        self.agent = agent
        self.model = model
        self.route = route
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.cachedTokens = cachedTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
        self.costUSD = costUSD
        self.savingUSD = savingUSD
        self.latencyMs = latencyMs
    }
}
