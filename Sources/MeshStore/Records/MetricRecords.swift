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
