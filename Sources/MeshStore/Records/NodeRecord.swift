/// A node of the mesh: identity, address, and the latest resource snapshot, rewritten by its
/// owner at every heartbeat. Owned: only the node itself writes its row.
public struct NodeRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.node

    /// Whether the node says it is running. `offline` is written on a clean shutdown so peers
    /// need not wait for the heartbeat to go stale.
    public enum State: String, Codable, Sendable, CaseIterable { case online, offline }

    public var id: String
    public var hostname: String
    /// Where peers reach this node's API, e.g. `http://10.0.0.2:7007`.
    public var apiURL: String
    public var version: String
    public var os: String
    public var arch: String
    public var cpuCount: Int
    public var memTotal: Int64
    public var diskTotal: Int64
    /// Milliseconds since 1970, on the node's own clock.
    public var startedAt: Int64
    public var heartbeatAt: Int64
    public var heartbeatIntervalMs: Int64
    public var state: State
    public var cpuPercent: Double?
    public var memUsed: Int64?
    public var diskUsed: Int64?
    public var load1: Double?
    public var gpuCount: Int
    public var gpuUtil: Double?
    public var vramTotal: Int64?
    public var vramUsed: Int64?
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(
        id: String, hostname: String, apiURL: String, version: String, os: String, arch: String,
        cpuCount: Int, memTotal: Int64, diskTotal: Int64, startedAt: Int64, heartbeatAt: Int64,
        heartbeatIntervalMs: Int64, state: State = .online, cpuPercent: Double? = nil, memUsed: Int64? = nil,
        diskUsed: Int64? = nil, load1: Double? = nil, gpuCount: Int = 0, gpuUtil: Double? = nil,
        vramTotal: Int64? = nil, vramUsed: Int64? = nil
    ) {
        self.id = id
        self.hostname = hostname
        self.apiURL = apiURL
        self.version = version
        self.os = os
        self.arch = arch
        self.cpuCount = cpuCount
        self.memTotal = memTotal
        self.diskTotal = diskTotal
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.state = state
        self.cpuPercent = cpuPercent
        self.memUsed = memUsed
        self.diskUsed = diskUsed
        self.load1 = load1
        self.gpuCount = gpuCount
        self.gpuUtil = gpuUtil
        self.vramTotal = vramTotal
        self.vramUsed = vramUsed
    }

    enum CodingKeys: String, CodingKey {
        case id, hostname, apiURL = "api_url", version, os, arch, cpuCount = "cpu_count", memTotal = "mem_total"
        case diskTotal = "disk_total", startedAt = "started_at", heartbeatAt = "heartbeat_at"
        case heartbeatIntervalMs = "heartbeat_interval_ms", state, cpuPercent = "cpu_percent", memUsed = "mem_used"
        case diskUsed = "disk_used", load1, gpuCount = "gpu_count", gpuUtil = "gpu_util", vramTotal = "vram_total"
        case vramUsed = "vram_used", origin, hlc
    }
}
