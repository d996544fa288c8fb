import Foundation
import GRDB
import MeshCore

/// Typed reads of the local replica.
extension MeshStore {
    /// The whole mesh as this replica sees it, in one read transaction. Tombstones are left out.
    public func state() async throws -> MeshState {
        try await pool.read(readState)
    }

    /// The blocking form of ``state()``, for command-line tools.
    public func stateNow() throws -> MeshState {
        try pool.read(readState)
    }

    private func readState(_ db: Database) throws -> MeshState {
        MeshState(
            localNodeID: nodeID,
            nodes: try NodeRecord.order(Column("id")).fetchAll(db),
            models: try ModelRecord.filter(Column("deleted") == false)
                .order(Column("node_id"), Column("source"), Column("name")).fetchAll(db),
            agents: try AgentRecord.filter(Column("deleted") == false).order(Column("name")).fetchAll(db),
            assignments: try AssignmentRecord.filter(Column("deleted") == false)
                .order(Column("agent"), Column("priority"), Column("node_id")).fetchAll(db),
            presence: try AgentPresenceRecord.fetchAll(db),
            origins: try readOrigins(db)
        )
    }

    /// What each agent spent today (UTC), mesh-wide, by the ledger rows here (`dagi status`).
    public func spentToday() async throws -> [String: Double] {
        try await pool.read(readSpentToday)
    }

    /// The blocking form of ``spentToday()``, for command-line tools.
    public func spentTodayNow() throws -> [String: Double] {
        try pool.read(readSpentToday)
    }

    private func readSpentToday(_ db: Database) throws -> [String: Double] {
        let now = clock.wallMilliseconds()
        let rows = try Row.fetchAll(db, sql: """
            SELECT agent, total(min(cost_usd, \(Self.maxRowCostUSD))) FROM usage INDEXED BY usage_costly_ts
            WHERE ts >= ? AND ts < ? AND cost_usd > 0 AND agent IN (SELECT name FROM agent WHERE deleted = 0)
            GROUP BY agent
            """, arguments: [UTCPeriods.dayAndMonthStart(now).day, now &+ Self.futureSlackMs])
        return Dictionary(rows.map { ($0[0] as String, $0[1] as Double) }) { $0 + $1 }
    }

    private func readOrigins(_ db: Database) throws -> [OriginStatus] {
        try Row.fetchAll(db, sql: "SELECT origin, seq, floor, last_arrival FROM sync_vector ORDER BY origin").map {
            OriginStatus(origin: $0[0], seq: $0[1], floor: $0[2], lastArrival: $0[3])
        }
    }

    /// This node's own row, if it has written one.
    public func localNode() async throws -> NodeRecord? {
        try await pool.read { db in try NodeRecord.fetchOne(db, key: self.nodeID) }
    }

    /// Models of one node (or all nodes), tombstones excluded unless asked for.
    public func models(nodeID: String? = nil, includeDeleted: Bool = false) async throws -> [ModelRecord] {
        try await pool.read { db in
            var request = ModelRecord.order(Column("node_id"), Column("source"), Column("name"))
            if let nodeID { request = request.filter(Column("node_id") == nodeID) }
            if !includeDeleted { request = request.filter(Column("deleted") == false) }
            return try request.fetchAll(db)
        }
    }

    /// One agent, tombstones excluded.
    public func agent(named name: String) async throws -> AgentRecord? {
        try await pool.read { db in try AgentRecord.filter(Column("name") == name && Column("deleted") == false).fetchOne(db) }
    }

    /// Raw samples of `metric` for a node, oldest first.
    public func samples(nodeID: String, metric: String, since: Int64 = 0) async throws -> [MetricSample] {
        try await pool.read { db in
            try MetricSample.filter(Column("node_id") == nodeID && Column("metric") == metric && Column("ts") >= since)
                .order(Column("ts")).fetchAll(db)
        }
    }

    /// A node's `metric` since `since` (ms) for a chart: minute averages from the rollups, then
    /// the raw samples newer than the last rolled-up minute, oldest first, at most `limit`
    /// points (the newest).
    public func metricSeries(nodeID: String, metric: String, since: Int64, limit: Int = 2000) async throws -> [(ts: Int64, value: Double)] {
        try await pool.read { db in
            let rollups = try MetricRollup
                .filter(Column("node_id") == nodeID && Column("metric") == metric && Column("resolution") == MetricRollup.minute && Column("bucket") >= since)
                .order(Column("bucket").desc).limit(limit).fetchAll(db)
            let rolledUntil = rollups.first.map { $0.bucket + Int64(MetricRollup.minute) * 1000 } ?? since
            let raw = try MetricSample
                .filter(Column("node_id") == nodeID && Column("metric") == metric && Column("ts") >= Swift.max(since, rolledUntil))
                .order(Column("ts").desc).limit(limit).fetchAll(db)
            let points = raw.map { (ts: $0.ts, value: $0.value) } + rollups.map { (ts: $0.bucket, value: $0.count > 0 ? $0.sum / Double($0.count) : 0) }
            return Array(points.prefix(limit).reversed())
        }
    }

    /// Rollups of a node at `resolution` seconds, oldest first.
    public func rollups(nodeID: String, resolution: Int) async throws -> [MetricRollup] {
        try await pool.read { db in
            try MetricRollup.filter(Column("node_id") == nodeID && Column("resolution") == resolution)
                .order(Column("metric"), Column("bucket")).fetchAll(db)
        }
    }

    /// Usage ledger entries since `since` (ms), oldest first.

    /// Row counts of every table (replicated and bookkeeping), for status and tests.
    public func rowCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for table in TableSchema.all.map(\.name) + ["change_log", "sync_vector", "peer", "peer_ack"] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    /// A deterministic dump of every replicated row (stamps included), one line per row in key
    /// order: two replicas have converged exactly when their dumps are equal.
    public func replicatedRows(excluding excluded: Set<ReplicatedTable> = []) async throws -> [String] {
        try await pool.read { db in
            var lines: [String] = []
            for schema in TableSchema.all where !excluded.contains(schema.table) {
                let columns = schema.columns + ["origin", "hlc"]
                let order = schema.columns[0..<schema.primaryKeyCount].joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: "SELECT \(columns.joined(separator: ",")) FROM \(schema.name) ORDER BY \(order)")
                for row in rows {
                    lines.append(schema.name + "|" + columns.indices.map { Self.plain(row[$0]) }.joined(separator: "|"))
                }
            }
            return lines
        }
    }

    private static func plain(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: return "NULL"
        case .int64(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .blob(let data): return "x'" + data.map { String(format: "%02x", $0) }.joined() + "'"
        }
    }

    /// A local (never replicated) setting.
    public func meta(_ key: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }
}
