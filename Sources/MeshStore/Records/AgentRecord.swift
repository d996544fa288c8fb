/// An agent (a bot, assistant or pipeline that calls models) and its policy. Shared: any node
/// may write it; the latest write wins everywhere. Its API key never appears here.
public struct AgentRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.agent

    public var name: String
    public var tier: String
    /// Logical model names the agent may call; empty means all.
    public var allowedModels: [String]
    public var allowCloud: Bool
    public var preferNodes: [String]
    /// The agent is `stale` when not seen for this long.
    public var staleAfterMs: Int64
    public var budgetDailyUSD: Double?
    public var budgetMonthlyUSD: Double?
    public var deleted: Bool
    /// Requests per minute, counted across the mesh; nil is unlimited.
    public var rpm: Int?
    /// Tokens (prompt and completion) per minute, counted across the mesh; nil is unlimited.
    public var tpm: Int?
    /// Past a budget: `downgrade` (cloud models are left out, the mesh's serve) or `block`
    /// (a request for a cloud model is refused); nil is `downgrade`.
    public var onExceed: String?
    /// Its ``CallPolicy`` as JSON (nil: the defaults).
    public var callPolicy: String?
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(
        name: String, tier: String = "standard", allowedModels: [String] = [], allowCloud: Bool = false,
        preferNodes: [String] = [], staleAfterMs: Int64 = 300_000, budgetDailyUSD: Double? = nil,
        budgetMonthlyUSD: Double? = nil, deleted: Bool = false, rpm: Int? = nil, tpm: Int? = nil, onExceed: String? = nil,
        callPolicy: CallPolicy = CallPolicy()
    ) {
        self.callPolicy = callPolicy.json
        self.onExceed = onExceed
        self.rpm = rpm
        self.tpm = tpm
        self.name = name
        self.tier = tier
        self.allowedModels = allowedModels
        self.allowCloud = allowCloud
        self.preferNodes = preferNodes
        self.staleAfterMs = staleAfterMs
        self.budgetDailyUSD = budgetDailyUSD
        self.budgetMonthlyUSD = budgetMonthlyUSD
        self.deleted = deleted
    }

    enum CodingKeys: String, CodingKey {
        case name, tier, allowedModels = "allowed_models", allowCloud = "allow_cloud", preferNodes = "prefer_nodes"
        case staleAfterMs = "stale_after_ms", budgetDailyUSD = "budget_daily_usd"
        case budgetMonthlyUSD = "budget_monthly_usd", deleted, rpm, tpm, onExceed = "on_exceed", callPolicy = "call_policy", origin, hlc
    }
}

/// An agent assigned to a node, with a priority (lower first). Shared, like agents.
public struct AssignmentRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.assignment

    public var agent: String
    public var nodeID: String
    public var priority: Int
    public var deleted: Bool
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(agent: String, nodeID: String, priority: Int = 0, deleted: Bool = false) {
        self.agent = agent
        self.nodeID = nodeID
        self.priority = priority
        self.deleted = deleted
    }

    enum CodingKeys: String, CodingKey {
        case agent, nodeID = "node_id", priority, deleted, origin, hlc
    }
}

/// When an agent was last seen on a node (a request or a heartbeat). Owned by that node, so
/// presence reports from several nodes never conflict; an agent's freshness is the newest one.
public struct AgentPresenceRecord: ReplicatedRecord, Equatable {
    public static let replicatedTable = ReplicatedTable.agentPresence

    public var agent: String
    public var nodeID: String
    public var lastSeen: Int64
    public var requests: Int64
    public var origin: String = ""
    public var hlc: HLCTimestamp = .zero

    public init(agent: String, nodeID: String, lastSeen: Int64, requests: Int64) {
        self.agent = agent
        self.nodeID = nodeID
        self.lastSeen = lastSeen
        self.requests = requests
    }

    enum CodingKeys: String, CodingKey {
        case agent, nodeID = "node_id", lastSeen = "last_seen", requests, origin, hlc
    }
}
