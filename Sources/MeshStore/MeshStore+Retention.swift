import GRDB

/// Rollups, retention and change-log compaction: what keeps the database bounded.
extension MeshStore {
    /// Aggregates this node's complete minutes and hours of raw samples into rollup rows
    /// (replicated like any owned row). Idempotent: progress is remembered, and a bucket is
    /// only rolled up once it has ended.
    @discardableResult
    public func rollUpMetrics(now: Int64) async throws -> Int {
        try await write { writer in
            var written = 0
            for resolution in [MetricRollup.minute, MetricRollup.hour] {
                written += try writer.rollUp(resolution: resolution, now: now)
            }
            return written
        }
    }

    /// Deletes history past its retention window on this replica (all origins alike; every
    /// node applies the same rule, so this is not replicated) and compacts the change log.
    @discardableResult
    public func pruneExpired(_ policy: RetentionPolicy, now: Int64) async throws -> PruneResult {
        let result = try await pool.write { db -> PruneResult in
            var result = PruneResult()
            try db.execute(sql: "DELETE FROM metric_sample WHERE ts < ?", arguments: [now - policy.rawSamplesMs])
            result.samples = db.changesCount
            try db.execute(sql: "DELETE FROM metric_rollup WHERE resolution = ? AND bucket < ?",
                           arguments: [MetricRollup.minute, now - policy.minuteRollupsMs])
            result.rollups = db.changesCount
            try db.execute(sql: "DELETE FROM metric_rollup WHERE resolution = ? AND bucket < ?",
                           arguments: [MetricRollup.hour, now - policy.hourRollupsMs])
            result.rollups += db.changesCount
            try db.execute(sql: "DELETE FROM usage WHERE ts < ?", arguments: [now - policy.usageMs])
            result.usage = db.changesCount
            try db.execute(sql: "DELETE FROM usage_rollup WHERE hour < ?", arguments: [now - policy.usageRollupMs])
            result.usage += db.changesCount
            result.changes = try self.compactChangeLog(db, horizonMs: policy.changeLogMs, now: now)
            return result
        }
        // Hand freed pages back to the file system so the file shrinks with its content.
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA incremental_vacuum") }
        return result
    }

    /// Compacts the change log:
    /// - an entry superseded by a later change of the same row is dropped once every known
    ///   peer holds it (known: configured peers and nodes that pulled within the horizon);
    /// - a superseded `model_load` entry is dropped at once;
    /// - any entry older than the horizon is dropped, and its origin's *floor* rises to it, so a
    ///   peer still behind that point is told to bootstrap from a snapshot instead.
    func compactChangeLog(_ db: Database, horizonMs: Int64, now: Int64) throws -> Int {
        var removed = 0
        let cutoff = HLCTimestamp(milliseconds: now - horizonMs)
        let expired = try Row.fetchAll(
            db, sql: "SELECT origin, max(origin_seq) FROM change_log WHERE hlc < ? GROUP BY origin", arguments: [cutoff]
        )
        for row in expired {
            try db.execute(sql: "UPDATE sync_vector SET floor = max(floor, ?) WHERE origin = ?", arguments: [row[1], row[0]])
        }
        try db.execute(sql: "DELETE FROM change_log WHERE hlc < ?", arguments: [cutoff])
        removed += db.changesCount

        // Acknowledgements nobody renewed within the horizon no longer count (below), and a
        // node that is not a configured peer is forgotten with them.
        try db.execute(sql: """
            DELETE FROM peer_ack WHERE seen_at < ? AND node_id NOT IN (SELECT node_id FROM peer WHERE node_id IS NOT NULL)
            """, arguments: [now - horizonMs])
        let peers = try String.fetchAll(db, sql: """
            SELECT node_id FROM peer_ack WHERE seen_at >= ?
            UNION SELECT node_id FROM peer WHERE node_id IS NOT NULL
            """, arguments: [now - horizonMs])
        for origin in try String.fetchAll(db, sql: "SELECT origin FROM sync_vector") {
            var acked = Int64.max
            for peer in peers where peer != nodeID {
                let seq = try Int64.fetchOne(
                    db, sql: "SELECT seq FROM peer_ack WHERE node_id = ? AND origin = ?", arguments: [peer, origin]
                ) ?? 0
                acked = min(acked, seq)
            }
            guard acked > 0 else { continue }
            try db.execute(sql: """
                DELETE FROM change_log WHERE origin = ? AND origin_seq <= ? AND EXISTS (
                  SELECT 1 FROM change_log AS newer
                  WHERE newer.tbl = change_log.tbl AND newer.pk = change_log.pk AND newer.seq > change_log.seq)
                """, arguments: [origin, acked])
            removed += db.changesCount
        }
        // A model's load is worth only its latest value: superseded ones go without waiting for
        // acknowledgements (a peer behind gets the latest), or a busy node with a peer down
        // would keep two rows a second for the whole horizon.
        try db.execute(sql: """
            DELETE FROM change_log WHERE tbl = ? AND EXISTS (
              SELECT 1 FROM change_log AS newer
              WHERE newer.tbl = change_log.tbl AND newer.pk = change_log.pk AND newer.seq > change_log.seq)
            """, arguments: [ReplicatedTable.modelLoad.rawValue])
        removed += db.changesCount
        return removed
    }
}

extension LocalWriter {
    /// Rolls up this node's raw samples into complete buckets of `resolution` seconds not yet
    /// rolled up.
    mutating func rollUp(resolution: Int, now: Int64) throws -> Int {
        let width = Int64(resolution) * 1000
        let key = "rollup_\(resolution)"
        let end = (now / width) * width
        let done = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", arguments: [key])
        let start: Int64
        if let done {
            start = done
        } else if let first = try Int64.fetchOne(db, sql: "SELECT min(ts) FROM metric_sample WHERE node_id = ?", arguments: [nodeID]) {
            start = (first / width) * width
        } else {
            return 0
        }
        guard end > start else { return 0 }
        let rows = try Row.fetchAll(db, sql: """
            SELECT metric, (ts / ?) * ? AS bucket, count(*), sum(value), min(value), max(value)
            FROM metric_sample WHERE node_id = ? AND ts >= ? AND ts < ?
            GROUP BY metric, bucket
            """, arguments: [width, width, nodeID, start, end])
        for row in rows {
            try put(MetricRollup(
                nodeID: nodeID, metric: row[0], resolution: resolution, bucket: row[1],
                count: row[2], sum: row[3], min: row[4], max: row[5]
            ))
        }
        try db.execute(
            sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [key, String(end)]
        )
        return rows.count
    }
}
