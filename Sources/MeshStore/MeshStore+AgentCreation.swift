import GRDB

/// What ``MeshStore/createAgentIfAbsent(_:limit:)`` found or did.
public enum AgentCreation: Sendable, Equatable {
    case created
    /// An agent of that name exists: nothing was written (its policy stays as its owner set it).
    case exists
    /// An agent of that name was deleted: it stays deleted.
    case deleted
    /// `limit` live agents exist already.
    case limitReached
}

extension MeshStore {
    /// Writes `record` only when no agent of its name was ever stored here (a tombstone counts)
    /// and fewer than `limit` live agents exist, in one transaction: agents named by callers
    /// (`compat.auto_agents`) are created, never overwritten or brought back.
    public func createAgentIfAbsent(_ record: AgentRecord, limit: Int) async throws -> AgentCreation {
        try await write { writer in
            if let deleted = try Bool.fetchOne(writer.db, sql: "SELECT deleted FROM agent WHERE name = ?", arguments: [record.name]) {
                return deleted ? .deleted : .exists
            }
            guard try Int.fetchOne(writer.db, sql: "SELECT count(*) FROM agent WHERE deleted = 0") ?? 0 < limit else { return .limitReached }
            try writer.put(record)
            return .created
        }
    }
}
