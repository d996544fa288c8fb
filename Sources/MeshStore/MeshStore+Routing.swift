import GRDB

/// The reads the router's catalog makes: only what routing needs, so a change to one table
/// does not cost a read of the whole replica.
extension MeshStore {
    /// Nodes, live models, agents and assignments, in one read transaction.
    public func routingRows() async throws -> RoutingRows {
        try await pool.read { db in
            RoutingRows(
                nodes: try NodeRecord.order(Column("id")).fetchAll(db),
                models: try ModelRecord.filter(Column("deleted") == false).order(Column("node_id"), Column("source"), Column("name")).fetchAll(db),
                agents: try AgentRecord.filter(Column("deleted") == false).order(Column("name")).fetchAll(db),
                assignments: try AssignmentRecord.filter(Column("deleted") == false).order(Column("agent"), Column("priority")).fetchAll(db)
            )
        }
    }

    /// The node rows alone (heartbeats change them every few seconds).
    public func nodes() async throws -> [NodeRecord] {
        try await pool.read { db in try NodeRecord.order(Column("id")).fetchAll(db) }
    }
}

/// What routing reads of the replica.
public struct RoutingRows: Sendable {
    public var nodes: [NodeRecord]
    public var models: [ModelRecord]
    public var agents: [AgentRecord]
    public var assignments: [AssignmentRecord]
}

extension MeshStore {
    /// Every node's published model loads (a row per model that served a request).
    public func modelLoads() async throws -> [ModelLoadRecord] {
        try await pool.read { db in try ModelLoadRecord.fetchAll(db) }
    }

    /// This node's own published loads, as stored.
    public func ownModelLoads() async throws -> [ModelLoadRecord] {
        let node = nodeID
        return try await pool.read { db in try ModelLoadRecord.filter(Column("node_id") == node).fetchAll(db) }
    }
}
