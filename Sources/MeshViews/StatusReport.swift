import MeshCore
import MeshStore

/// The mesh as `dagi status` and the HTTP API show it, computed from the local replica.
/// One shape for the table, `--json` and `GET /v1/nodes`, so they never disagree.
public struct StatusReport: Codable, Sendable {
    public var generatedAt: Int64
    public var localNode: String
    public var nodes: [NodeView]
    public var models: [ModelView]
    public var agents: [AgentView]

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at", localNode = "local_node", nodes, models, agents
    }
}

/// A node with its liveness.
public struct NodeView: Codable, Sendable {
    public typealias Liveness = NodeLiveness

    public var id: String
    public var local: Bool
    public var state: Liveness
    /// Milliseconds since the node's last heartbeat (by its own clock).
    public var ageMs: Int64
    /// Milliseconds since a change from the node last arrived here (nil: never, or local).
    public var lastChangeAgeMs: Int64?
    public var hostname: String
    public var apiURL: String
    public var version: String
    public var os: String
    public var arch: String
    public var cpuCount: Int
    public var cpuPercent: Double?
    public var memUsed: Int64?
    public var memTotal: Int64
    public var diskUsed: Int64?
    public var diskTotal: Int64
    public var load1: Double?
    public var gpuCount: Int
    public var vramUsed: Int64?
    public var vramTotal: Int64?
    public var startedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, local, state, ageMs = "age_ms", lastChangeAgeMs = "last_change_age_ms", hostname, apiURL = "api_url"
        case version, os, arch, cpuCount = "cpu_count", cpuPercent = "cpu_percent", memUsed = "mem_used"
        case memTotal = "mem_total", diskUsed = "disk_used", diskTotal = "disk_total", load1, gpuCount = "gpu_count"
        case vramUsed = "vram_used", vramTotal = "vram_total", startedAt = "started_at"
    }
}

/// A model on a node.
public struct ModelView: Codable, Sendable {
    public var node: String
    public var source: String
    public var name: String
    public var state: String
    public var reachable: Bool
    public var sizeBytes: Int64?
    public var family: String?
    public var quantization: String?
    public var parameterSize: String?
    public var lastUsed: Int64?
    /// The liveness of the model's node: a model on an offline node is not really there.
    public var nodeState: NodeView.Liveness
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case node, source, name, state, reachable, sizeBytes = "size_bytes", family, quantization
        case parameterSize = "parameter_size", lastUsed = "last_used", nodeState = "node_state", error
    }
}

/// An agent with its freshness and assignments.
public struct AgentView: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case active, stale }

    public var name: String
    public var tier: String
    public var status: Status
    public var lastSeen: Int64?
    public var lastSeenAgeMs: Int64?
    /// Assigned nodes, by priority.
    public var assigned: [String]
    public var allowCloud: Bool
    public var models: [String]
    public var preferNodes: [String]
    public var budgetDailyUSD: Double?
    public var budgetMonthlyUSD: Double?
    /// Spent today (UTC), mesh-wide.
    public var spentTodayUSD: Double?
    public var rpm: Int?
    public var tpm: Int?
    /// Its call policy as stored: `low`, `normal` or `high` (nil: its tier's, else normal); the
    /// cache interval; `auto` or `off`.
    public var priority: String?
    public var minIntervalMs: Int64?
    public var promptCache: String

    enum CodingKeys: String, CodingKey {
        case name, tier, status, lastSeen = "last_seen", lastSeenAgeMs = "last_seen_age_ms", assigned
        case allowCloud = "allow_cloud", models, preferNodes = "prefer_nodes"
        case budgetDailyUSD = "budget_daily_usd", budgetMonthlyUSD = "budget_monthly_usd", spentTodayUSD = "spent_today_usd"
        case rpm, tpm, priority, minIntervalMs = "min_interval_ms", promptCache = "prompt_cache"
    }
}

extension StatusReport {
    /// Builds the report from a replica snapshot at wall time `now` (ms), with what each agent
    /// spent today (``MeshStore/spentToday()``).
    public init(_ state: MeshState, now: Int64, spentToday: [String: Double] = [:]) {
        let nodes = state.nodes.map { NodeView($0, state: state, now: now) }
        let liveness = Dictionary(nodes.map { ($0.id, $0.state) }, uniquingKeysWith: { a, _ in a })
        self.init(
            generatedAt: now,
            localNode: state.localNodeID,
            nodes: nodes,
            models: state.models.map { model in
                ModelView(
                    node: model.nodeID, source: model.source.rawValue, name: model.name, state: model.state.rawValue,
                    reachable: model.reachable, sizeBytes: model.sizeBytes, family: model.family,
                    quantization: model.quantization, parameterSize: model.parameterSize, lastUsed: model.lastUsed,
                    nodeState: liveness[model.nodeID] ?? .offline, error: model.error
                )
            },
            agents: state.agents.map { agent in
                let seen = state.lastSeen(agent: agent.name)
                let age = seen.map { max(0, now.saturatingMinus($0)) }
                let policy = CallPolicy(json: agent.callPolicy)
                return AgentView(
                    name: agent.name, tier: agent.tier,
                    status: (age.map { $0 <= agent.staleAfterMs } ?? false) ? .active : .stale,
                    lastSeen: seen, lastSeenAgeMs: age,
                    assigned: state.assignments.filter { $0.agent == agent.name }.sorted { $0.priority < $1.priority }.map(\.nodeID),
                    allowCloud: agent.allowCloud, models: agent.allowedModels, preferNodes: agent.preferNodes,
                    budgetDailyUSD: agent.budgetDailyUSD, budgetMonthlyUSD: agent.budgetMonthlyUSD,
                    spentTodayUSD: spentToday[agent.name], rpm: agent.rpm, tpm: agent.tpm, priority: policy.priority?.description,
                    minIntervalMs: policy.minIntervalMs, promptCache: policy.promptCache ? "auto" : "off"
                )
            }
        )
    }
}

extension NodeView {
    init(_ node: NodeRecord, state: MeshState, now: Int64) {
        let age = node.heartbeatAge(now: now)
        let arrival = node.id == state.localNodeID ? nil : state.origin(node.id)?.lastArrival
        self.init(
            id: node.id, local: node.id == state.localNodeID, state: node.liveness(now: now), ageMs: age,
            lastChangeAgeMs: arrival.map { max(0, now.saturatingMinus($0)) }, hostname: node.hostname, apiURL: node.apiURL,
            version: node.version, os: node.os, arch: node.arch, cpuCount: node.cpuCount, cpuPercent: node.cpuPercent,
            memUsed: node.memUsed, memTotal: node.memTotal, diskUsed: node.diskUsed, diskTotal: node.diskTotal,
            load1: node.load1, gpuCount: node.gpuCount, vramUsed: node.vramUsed, vramTotal: node.vramTotal,
            startedAt: node.startedAt
        )
    }
}

