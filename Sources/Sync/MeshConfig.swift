import MeshCore
import MeshHTTP

/// `mesh:` — peers and how this node syncs with them.
///
///     mesh:
///       secret_env: DAGI_MESH_SECRET   # the name of the env var holding the secret
///       peers: [http://10.0.0.2:7007, http://10.0.0.3:7007]
///       sync_interval: 5s              # anti-entropy period (jittered)
///       ca: /etc/dagi/mesh-ca.pem      # verify https:// peers against this CA
public struct MeshConfig: Sendable, Decodable {
    /// Environment variable that holds the shared mesh secret.
    public var secretEnv: String
    public var peers: [HTTPURL]
    /// Anti-entropy pull period; each pull is jittered ±20 %.
    public var syncInterval: ConfigDuration
    /// Timeout of one sync request.
    public var requestTimeout: ConfigDuration
    /// Largest compressed frame accepted.
    public var maxFrame: ByteSize
    /// Largest inflated frame accepted (zip-bomb bound).
    public var maxInflated: ByteSize
    /// Changes per pull batch.
    public var batchSize: Int
    /// A peer lacking more than this many changes bootstraps from a snapshot instead.
    public var snapshotThreshold: Int
    /// Accepted clock difference for signed requests and answers; also how far ahead of this
    /// node's clock a replicated HLC or timestamp may be (further is refused).
    public var clockSkew: ConfigDuration
    /// Delay that groups local commits into one push or poke.
    public var pokeDebounce: ConfigDuration
    /// PEM file of the CA that signs the nodes' certificates; `https://` peers (sync and
    /// forwarded requests) are verified against it. Without it, against the system's roots.
    public var ca: String?

    public init(
        secretEnv: String = "DAGI_MESH_SECRET", peers: [HTTPURL] = [], syncInterval: ConfigDuration = .seconds(5),
        requestTimeout: ConfigDuration = .seconds(10), maxFrame: ByteSize = .mebibytes(16),
        maxInflated: ByteSize = .mebibytes(128), batchSize: Int = 10_000, snapshotThreshold: Int = 50_000,
        clockSkew: ConfigDuration = .minutes(5), pokeDebounce: ConfigDuration = .init(milliseconds: 5), ca: String? = nil
    ) {
        self.secretEnv = secretEnv
        self.peers = peers
        self.syncInterval = syncInterval
        self.requestTimeout = requestTimeout
        self.maxFrame = maxFrame
        self.maxInflated = maxInflated
        self.batchSize = batchSize
        self.snapshotThreshold = snapshotThreshold
        self.clockSkew = clockSkew
        self.pokeDebounce = pokeDebounce
        self.ca = ca
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case secretEnv = "secret_env", peers, syncInterval = "sync_interval", requestTimeout = "request_timeout"
        case maxFrame = "max_frame", maxInflated = "max_inflated", batchSize = "batch_size"
        case snapshotThreshold = "snapshot_threshold", clockSkew = "clock_skew", pokeDebounce = "poke_debounce", ca
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MeshConfig()
        secretEnv = try c.decode(.secretEnv, default: d.secretEnv)
        peers = try c.decode(.peers, default: [])
        syncInterval = try c.decode(.syncInterval, default: d.syncInterval)
        requestTimeout = try c.decode(.requestTimeout, default: d.requestTimeout)
        maxFrame = try c.decode(.maxFrame, default: d.maxFrame)
        maxInflated = try c.decode(.maxInflated, default: d.maxInflated)
        batchSize = try c.decode(.batchSize, default: d.batchSize)
        snapshotThreshold = try c.decode(.snapshotThreshold, default: d.snapshotThreshold)
        clockSkew = try c.decode(.clockSkew, default: d.clockSkew)
        pokeDebounce = try c.decode(.pokeDebounce, default: d.pokeDebounce)
        ca = try c.decodeIfPresent(String.self, forKey: .ca)
        guard clockSkew.milliseconds >= 1000, clockSkew.milliseconds <= 86_400_000 else {
            throw DecodingError.dataCorruptedError(forKey: .clockSkew, in: c, debugDescription: "clock_skew must be 1s...24h")
        }
        guard (1...100_000).contains(batchSize) else {
            throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "batch_size must be 1...100000")
        }
        guard syncInterval.milliseconds >= 50 else {
            throw DecodingError.dataCorruptedError(forKey: .syncInterval, in: c, debugDescription: "sync_interval must be at least 50ms")
        }
        guard maxInflated >= maxFrame else {
            throw DecodingError.dataCorruptedError(forKey: .maxInflated, in: c, debugDescription: "max_inflated must be at least max_frame")
        }
    }
}
