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
    /// The loads other nodes published, for the models they still have.
    public func peerModelLoads() async throws -> [ModelLoadRecord] {
        let node = nodeID
        return try await pool.read { db in
            try ModelLoadRecord.fetchAll(db, sql: """
                SELECT model_load.* FROM model_load
                JOIN model USING (node_id, source, name)
                WHERE model_load.node_id != ? AND model.deleted = 0
                """, arguments: [node])
        }
    }

    /// This node's own published loads, as stored.
    public func ownModelLoads() async throws -> [ModelLoadRecord] {
        let node = nodeID
        return try await pool.read { db in try ModelLoadRecord.filter(Column("node_id") == node).fetchAll(db) }
    }
}
