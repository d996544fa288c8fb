import GRDB

/// Agents' API keys on this node: SHA-256 hashes in a local table, never replicated, never
/// in clear. A key is good only while its agent exists: deleting the agent anywhere in the mesh
/// revokes its keys on every node as the deletion arrives.
extension MeshStore {
    /// Stores the SHA-256 (hex) of an agent's API key (one key per agent; a new one replaces it).
    public func setAgentKey(agent: String, sha256Hex: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO agent_key (agent, key_sha256) VALUES (?, ?) ON CONFLICT(agent) DO UPDATE SET key_sha256 = excluded.key_sha256",
                arguments: [agent, sha256Hex.lowercased()]
            )
        }
    }

    /// Agent name by key hash, for agents that exist (not deleted).
    public func agentKeyHashes() async throws -> [String: String] {
        try await pool.read { db in
            var map: [String: String] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT k.key_sha256, k.agent FROM agent_key k JOIN agent a ON a.name = k.agent WHERE a.deleted = 0
                """)
            for row in rows { map[row[0]] = row[1] }
            return map
        }
    }

    /// The agents that have a key on this node, with the first 8 hex digits of its hash (enough
    /// to tell keys apart, useless to an attacker).
    public func agentKeys() async throws -> [(agent: String, hashPrefix: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT agent, substr(key_sha256, 1, 8) FROM agent_key ORDER BY agent").map { ($0[0], $0[1]) }
        }
    }

    /// Removes an agent's key from this node; returns whether it had one.
    @discardableResult
    public func removeAgentKey(agent: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM agent_key WHERE agent = ?", arguments: [agent])
            return db.changesCount > 0
        }
    }

    /// Drops the keys of agents deleted anywhere in the mesh, so a later agent of the same name
    /// does not inherit them; returns how many went.
    @discardableResult
    public func revokeKeysOfDeletedAgents() async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM agent_key WHERE agent IN (SELECT name FROM agent WHERE deleted = 1)")
            return db.changesCount
        }
    }
}
