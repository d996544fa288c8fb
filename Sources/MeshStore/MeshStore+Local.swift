import GRDB

/// Local, never-replicated tables: peers and peer acknowledgements.
extension MeshStore {
    // MARK: Peers

    /// Adds a peer URL (no-op if present; a CLI-added peer keeps its source).
    public func addPeer(url: String, source: PeerRecord.Source) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO peer (url, source, added_at) VALUES (?, ?, ?) ON CONFLICT(url) DO NOTHING",
                arguments: [url, source.rawValue, self.clock.wallMilliseconds()]
            )
        }
    }

    /// Removes a peer; returns whether it existed.
    @discardableResult
    public func removePeer(url: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM peer WHERE url = ?", arguments: [url])
            return db.changesCount > 0
        }
    }

    public func peers() async throws -> [PeerRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT url, source, node_id, added_at, last_ok, last_error, last_error_at, lag FROM peer ORDER BY url").map {
                PeerRecord(
                    url: $0[0], source: PeerRecord.Source(rawValue: $0[1]) ?? .config, nodeID: $0[2], addedAt: $0[3],
                    lastOK: $0[4], lastError: $0[5], lastErrorAt: $0[6], lag: $0[7]
                )
            }
        }
    }

    /// Records a successful exchange with a peer.
    public func peerSucceeded(url: String, nodeID: String?, lag: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE peer SET node_id = coalesce(?, node_id), last_ok = ?, lag = ?, last_error = NULL WHERE url = ?",
                arguments: [nodeID, self.clock.wallMilliseconds(), lag, url]
            )
        }
    }

    /// Records a failed exchange with a peer. `message` must not contain secrets.
    public func peerFailed(url: String, message: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE peer SET last_error = ?, last_error_at = ? WHERE url = ?",
                arguments: [String(message.prefix(500)), self.clock.wallMilliseconds(), url]
            )
        }
    }

    /// The most peer nodes whose acknowledgements are kept.
    public static let maxAckedPeers = 256

    /// Remembers what a peer node holds (from the vector it pulled or pushed with), for
    /// compaction. Bounded: only origins this node tracks are kept, and at most
    /// ``maxAckedPeers`` nodes (the one heard from longest ago gives way).
    public func recordPeerAck(nodeID peer: String, vector: [String: Int64]) async throws {
        try await pool.write { db in
            let now = self.clock.wallMilliseconds()
            let known = Set(try String.fetchAll(db, sql: "SELECT origin FROM sync_vector"))
            let isNew = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM peer_ack WHERE node_id = ?)", arguments: [peer]) ?? true
            if isNew, try Int.fetchOne(db, sql: "SELECT count(DISTINCT node_id) FROM peer_ack") ?? 0 >= Self.maxAckedPeers {
                try db.execute(sql: """
                    DELETE FROM peer_ack WHERE node_id =
                      (SELECT node_id FROM peer_ack GROUP BY node_id ORDER BY max(seen_at) LIMIT 1)
                    """)
            }
            let statement = try db.cachedStatement(sql: """
                INSERT INTO peer_ack (node_id, origin, seq, seen_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(node_id, origin) DO UPDATE SET seq = excluded.seq, seen_at = excluded.seen_at
                """)
            for (origin, seq) in vector where known.contains(origin) {
                try statement.execute(arguments: [peer, origin, seq, now])
            }
        }
    }
}
