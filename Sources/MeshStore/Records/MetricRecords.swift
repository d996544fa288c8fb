/// One raw metric sample of a node (CPU %, memory bytes, ...). Owned; pruned after the raw
/// retention window on every replica alike.
public struct MetricSample: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.metricSample

    public var nodeID: String
    public var metric: String
    /// Milliseconds since 1970.
    public var ts: Int64
    public var value: Double
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(nodeID: String, metric: String, ts: Int64, value: Double) {
        self.nodeID = nodeID
        self.metric = metric
        self.ts = ts
        self.value = value
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", metric, ts, value, origin, hlc
    }
}

/// An aggregate of a node's samples over one minute or one hour. Owned; kept longer than raw
/// samples so history survives at lower resolution.
public struct MetricRollup: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.metricRollup

    public static let minute: Int = 60
    public static let hour: Int = 3600

    public var nodeID: String
    public var metric: String
    /// Bucket width in seconds: ``minute`` or ``hour``.
    public var resolution: Int
    /// Bucket start, milliseconds since 1970.
    public var bucket: Int64
    public var count: Int64
    public var sum: Double
    public var min: Double
    public var max: Double
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(nodeID: String, metric: String, resolution: Int, bucket: Int64, count: Int64, sum: Double, min: Double, max: Double) {
        self.nodeID = nodeID
        self.metric = metric
        self.resolution = resolution
        self.bucket = bucket
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }

    public var average: Double { count > 0 ? sum / Double(count) : 0 }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", metric, resolution, bucket, count, sum, min, max, origin, hlc
    }
}

/// Usage in the ledger: the requests of one agent to one model by one route with one status
/// within one minute, summed, recorded by the node that routed them. Owned; budgets sum it
/// across the mesh. One row per key and minute keeps the table bounded under any load.
public struct UsageRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.usage

    public var nodeID: String
    /// Unique within the node.
    public var id: String
    public var ts: Int64
    public var agent: String
    public var model: String
    /// `local`, `remote:NODE` or `cloud:PROVIDER`.
    public var route: String
    /// HTTP status returned to the agent.
    public var status: Int
    public var tokensIn: Int64
    public var tokensOut: Int64
    public var costUSD: Double
    /// Summed over the requests.
    public var latencyMs: Double
    /// The last request's id (for tracing a sample back to the logs).
    public var requestID: String
    /// How many requests the row sums.
    public var requests: Int64
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(
        nodeID: String, id: String, ts: Int64, agent: String, model: String, route: String, status: Int,
        tokensIn: Int64 = 0, tokensOut: Int64 = 0, costUSD: Double = 0, latencyMs: Double = 0, requestID: String = "",
        requests: Int64 = 1
    ) {
        self.requests = requests
        self.nodeID = nodeID
        self.id = id
        self.ts = ts
        self.agent = agent
        self.model = model
        self.route = route
        self.status = status
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.costUSD = costUSD
        self.latencyMs = latencyMs
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", id, ts, agent, model, route, status, tokensIn = "tokens_in", tokensOut = "tokens_out"
        case costUSD = "cost_usd", latencyMs = "latency_ms", requestID = "request_id", requests, origin, hlc
    }
}
