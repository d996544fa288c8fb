/// Everything `dagi status` and the API show about the mesh, read in one consistent snapshot
/// of the local replica.
public struct MeshState: Sendable {
    public var localNodeID: String
    public var nodes: [NodeRecord]
    public var models: [ModelRecord]
    public var agents: [AgentRecord]
    public var assignments: [AssignmentRecord]
    public var presence: [AgentPresenceRecord]
    public var origins: [OriginStatus]

    public init(
        localNodeID: String, nodes: [NodeRecord], models: [ModelRecord], agents: [AgentRecord],
        assignments: [AssignmentRecord], presence: [AgentPresenceRecord], origins: [OriginStatus]
    ) {
        self.localNodeID = localNodeID
        self.nodes = nodes
        self.models = models
        self.agents = agents
        self.assignments = assignments
        self.presence = presence
        self.origins = origins
    }

    /// When the newest presence report of `agent` was made (ms since 1970), from any node.
    public func lastSeen(agent: String) -> Int64? {
        presence.filter { $0.agent == agent }.map(\.lastSeen).max()
    }

    public func origin(_ id: String) -> OriginStatus? { origins.first { $0.origin == id } }
}

/// Replication progress for one origin node, as held by this replica.
public struct OriginStatus: Sendable, Equatable {
    public var origin: String
    /// The highest change sequence of that origin held here.
    public var seq: Int64
    /// Below this sequence this node's change log is incomplete (compacted or bootstrapped).
    public var floor: Int64
    /// When a change from that origin last arrived here (local clock, ms since 1970).
    public var lastArrival: Int64?

    public init(origin: String, seq: Int64, floor: Int64, lastArrival: Int64?) {
        self.origin = origin
        self.seq = seq
        self.floor = floor
        self.lastArrival = lastArrival
    }
}

/// A configured or added sync peer and what this node last saw of it.
public struct PeerRecord: Sendable, Equatable {
    public enum Source: String, Sendable { case config, flag, cli }

    public var url: String
    public var source: Source
    public var nodeID: String?
    public var addedAt: Int64
    public var lastOK: Int64?
    public var lastError: String?
    public var lastErrorAt: Int64?
    /// Changes this node still lacked from that peer at the last pull.
    public var lag: Int64?
}
