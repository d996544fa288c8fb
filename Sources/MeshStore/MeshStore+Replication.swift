import Foundation
import GRDB

/// Serving and applying changes: what Sync builds on.
extension MeshStore {
    /// This node's version vector: per origin, the highest change sequence held here.
    public func versionVector() async throws -> [String: Int64] {
        try await pool.read(Self.readVector)
    }

    static func readVector(_ db: Database) throws -> [String: Int64] {
        var vector: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, seq FROM sync_vector") {
            vector[row[0]] = row[1]
        }
        return vector
    }

    /// The changes a peer holding `vector` lacks, oldest first per origin, up to `limit` changes
    /// or about `byteBudget` payload bytes. Read in one snapshot, so the batch and the returned
    /// vector are consistent.
    ///
    /// Sets ``ChangeBatch/snapshotRequired`` when the peer is behind this node's compacted
    /// history for some origin, or lacks more than `snapshotThreshold` changes in all: then a
    /// snapshot is both required (for the first) and cheaper (for the second).
    public func changes(
        since vector: [String: Int64], limit: Int, byteBudget: Int, snapshotThreshold: Int = .max
    ) async throws -> ChangeBatch {
        try await pool.read { db in
            let origins = try Row.fetchAll(db, sql: "SELECT origin, seq, floor FROM sync_vector ORDER BY origin")
            var behind = 0
            for row in origins {
                let origin: String = row[0], floor: Int64 = row[2]
                let theirs = vector[origin] ?? 0
                if theirs < floor {
                    return ChangeBatch(changes: [], hasMore: false, snapshotRequired: true, vector: try Self.readVector(db))
                }
                if snapshotThreshold < .max {
                    behind += try Int.fetchOne(
                        db,
                        sql: "SELECT count(*) FROM (SELECT 1 FROM change_log WHERE origin = ? AND origin_seq > ? LIMIT ?)",
                        arguments: [origin, theirs, snapshotThreshold + 1]
                    ) ?? 0
                }
            }
            if behind > snapshotThreshold {
                return ChangeBatch(changes: [], hasMore: false, snapshotRequired: true, vector: try Self.readVector(db))
            }

            var changes: [Change] = []
            var bytes = 0
            var hasMore = false
            let statement = try db.cachedStatement(
                sql: "SELECT origin_seq, hlc, tbl, vals FROM change_log WHERE origin = ? AND origin_seq > ? ORDER BY origin_seq LIMIT ?"
            )
            for row in origins {
                let origin: String = row[0], held: Int64 = row[1]
                let theirs = vector[origin] ?? 0
                guard held > theirs else { continue }
                let room = limit - changes.count
                guard room > 0, bytes < byteBudget else {
                    hasMore = true
                    break
                }
                let cursor = try Row.fetchCursor(statement, arguments: [origin, theirs, room + 1])
                var taken = 0
                while let change = try cursor.next() {
                    if taken == room || bytes >= byteBudget {
                        hasMore = true
                        break
                    }
                    let payload: Data = change[3]
                    guard let table = ReplicatedTable(rawValue: UInt8(clamping: change[2] as Int)) else { continue }
                    changes.append(Change(
                        origin: origin, originSeq: change[0], hlc: HLCTimestamp(storedValue: change[1]),
                        table: table, payload: [UInt8](payload)
                    ))
                    bytes += payload.count + 24
                    taken += 1
                }
            }
            return ChangeBatch(changes: changes, hasMore: hasMore, snapshotRequired: false, vector: try Self.readVector(db))
        }
    }

    /// Applies changes received from a peer, in one transaction.
    ///
    /// Each change passes the ``ReplicationGate`` before anything is written: a refused change
    /// is counted in the result, never applied, and moves the version vector only when that is
    /// safe (the gate's documentation says when). Applying is idempotent: a change at or below
    /// the version vector is a no-op. Rows resolve last-writer-wins by `(hlc, origin)`. The
    /// vector advances in the same transaction as the rows, so it never claims a change the
    /// database lacks, and the clock moves past every accepted stamp (never a refused one).
    ///
    /// - Parameter senderVector: the sender's own version vector from the frame, when it has
    ///   one: no change may claim a sequence beyond it.
    @discardableResult
    public func apply(_ changes: [Change], senderVector: [String: Int64]? = nil, limits: ReplicationLimits = .init()) async throws -> ApplyResult {
        let (result, tables, ownSeqSeen) = try await pool.write { db in
            try self.applyChecked(changes, senderVector: senderVector, limits: limits, db: db)
        }
        notify(tables)
        if let ownSeqSeen {
            logger.warning("peers hold newer changes of this node than its store does (data directory reset?); re-announcing own rows", metadata: ["seq": "\(ownSeqSeen)"])
            try await reannounceOwnRows()
        }
        return result
    }

    private func applyChecked(
        _ changes: [Change], senderVector: [String: Int64]?, limits: ReplicationLimits, db: Database
    ) throws -> (ApplyResult, Set<ReplicatedTable>, Int64?) {
        var result = ApplyResult()
        var gate = ReplicationGate(
            nodeID: nodeID, vector: try Self.readVector(db), senderVector: senderVector, now: clock.wallMilliseconds(), limits: limits
        )
        var tables: Set<ReplicatedTable> = []
        var maxStamp = HLCTimestamp.zero
        for change in changes {
            switch gate.admit(change) {
            case .duplicate:
                result.duplicates += 1
            case .refused(let refusal, _):
                result.refuse(refusal)
            case .accepted(let item):
                maxStamp = max(maxStamp, change.hlc)
                if try LocalWriter.upsert(db, schema: change.table.schema, values: item.values, origin: change.origin, hlc: change.hlc) {
                    try LocalWriter.appendLog(db, origin: change.origin, originSeq: change.originSeq, hlc: change.hlc,
                                              table: change.table, key: item.key, payload: change.payload)
                    result.applied += 1
                    tables.insert(change.table)
                } else {
                    result.superseded += 1
                }
            }
        }
        try recordArrivals(db, gate.advanced)
        if maxStamp > .zero {
            clock.observe(maxStamp)
            try Self.persistClock(db, clock.latest)
        }
        return (result, tables, gate.advanced[nodeID])
    }

    private func recordArrivals(_ db: Database, _ advanced: [String: Int64]) throws {
        let now = clock.wallMilliseconds()
        let statement = try db.cachedStatement(sql: """
            INSERT INTO sync_vector (origin, seq, floor, last_arrival) VALUES (?, ?, 0, ?)
            ON CONFLICT(origin) DO UPDATE SET seq = max(seq, excluded.seq), last_arrival = excluded.last_arrival
            """)
        for (origin, seq) in advanced {
            try statement.execute(arguments: [origin, seq, now])
        }
    }

    /// Rewrites every row this node owns or last wrote, with fresh sequence numbers, so peers
    /// that skipped them as duplicates (after this node's store was reset) take them again.
    func reannounceOwnRows() async throws {
        try await pool.write { db in
            let ownSeq = try Int64.fetchOne(db, sql: "SELECT max(origin_seq) FROM change_log WHERE origin = ?", arguments: [self.nodeID]) ?? 0
            try db.execute(sql: "UPDATE sync_vector SET seq = max(seq, ?) WHERE origin = ?", arguments: [ownSeq, self.nodeID])
            var writer = LocalWriter(db: db, nodeID: self.nodeID, clock: self.clock)
            for schema in TableSchema.all where schema.table != .metricSample {
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(schema.columns.joined(separator: ",")) FROM \(schema.name) WHERE origin = ?",
                    arguments: [self.nodeID]
                )
                for row in rows {
                    try writer.putValues(schema: schema, values: schema.columns.indices.map { row[$0] }, stamp: self.clock.now())
                }
            }
            try writer.finish()
        }
    }

    // MARK: - Snapshots

    /// Ledger rows a snapshot carries, newest first: a snapshot is one frame (bounded when
    /// inflated), and a busy mesh's 35 days of requests would outgrow it. A node bootstrapped
    /// from a snapshot has the mesh's recent requests and the hourly rollups; older rows stay on
    /// the nodes that saw them.
    public static let snapshotUsageRows = 100_000

    /// Every replicated row (the ledger's newest ``snapshotUsageRows``) and the version vector
    /// they reflect, read in one transaction.
    public func snapshot() async throws -> Snapshot {
        try await pool.read { db in
            var rows: [SnapshotRow] = []
            for schema in TableSchema.all {
                let newest = schema.table == .usage ? " ORDER BY ts DESC LIMIT \(Self.snapshotUsageRows)" : ""
                let cursor = try Row.fetchCursor(
                    db, sql: "SELECT \(schema.columns.joined(separator: ",")), origin, hlc FROM \(schema.name)\(newest)"
                )
                let count = schema.columns.count
                while let row = try cursor.next() {
                    let values: [DatabaseValue] = (0..<count).map { row[$0] }
                    rows.append(SnapshotRow(
                        table: schema.table, origin: row[count], hlc: HLCTimestamp(storedValue: row[count + 1]),
                        payload: ValueCodec.encode(values, keyCount: schema.primaryKeyCount).row
                    ))
                }
            }
            return Snapshot(vector: try Self.readVector(db), rows: rows)
        }
    }

    /// Bootstraps from a peer's snapshot: rows merge last-writer-wins, each checked by the
    /// ``ReplicationGate`` (identity and content; a refused row is skipped), the version vector
    /// takes the maximum, and each origin's floor rises to the snapshot's sequence, since this
    /// node's log does not hold that history to relay. Rows of this node's own origin are taken
    /// only when the snapshot holds newer changes of this node than it does (its data
    /// directory was reset); it then re-announces them.
    @discardableResult
    public func applySnapshot(_ snapshot: Snapshot, limits: ReplicationLimits = .init()) async throws -> ApplyResult {
        let (result, tables, ownSeq) = try await pool.write { db -> (ApplyResult, Set<ReplicatedTable>, Int64?) in
            var result = ApplyResult()
            let held = try Self.readVector(db)
            let gate = ReplicationGate(
                nodeID: self.nodeID, vector: held, senderVector: nil, now: self.clock.wallMilliseconds(), limits: limits
            )
            var vector: [String: Int64] = [:]
            for (origin, seq) in snapshot.vector {
                if gate.acceptsVectorEntry(origin: origin, seq: seq) {
                    vector[origin] = seq
                } else {
                    result.refuse(Refusal(reason: .sequence, origin: origin, originSeq: seq, table: .node, detail: "snapshot vector entry out of range"))
                }
            }
            let ownSeq = vector[self.nodeID].flatMap { $0 > (held[self.nodeID] ?? 0) ? $0 : nil }
            var tables: Set<ReplicatedTable> = []
            var maxStamp = HLCTimestamp.zero
            for row in snapshot.rows {
                let item: DecodedChange
                switch gate.admit(row, adoptingOwnRows: ownSeq != nil) {
                case .failure(let refusal):
                    result.refuse(refusal)
                    continue
                case .success(let decoded):
                    item = decoded
                }
                maxStamp = max(maxStamp, row.hlc)
                if try LocalWriter.upsert(db, schema: row.table.schema, values: item.values, origin: row.origin, hlc: row.hlc) {
                    result.applied += 1
                    tables.insert(row.table)
                } else {
                    result.superseded += 1
                }
            }
            let now = self.clock.wallMilliseconds()
            for (origin, seq) in vector where origin != self.nodeID {
                try db.execute(
                    sql: """
                        INSERT INTO sync_vector (origin, seq, floor, last_arrival) VALUES (?, ?, ?, ?)
                        ON CONFLICT(origin) DO UPDATE SET seq = max(seq, excluded.seq), floor = max(floor, excluded.floor),
                          last_arrival = excluded.last_arrival
                        """,
                    arguments: [origin, seq, seq, now]
                )
            }
            if let ownSeq {
                try db.execute(sql: "UPDATE sync_vector SET seq = max(seq, ?) WHERE origin = ?", arguments: [ownSeq, self.nodeID])
            }
            if maxStamp > .zero {
                self.clock.observe(maxStamp)
                try Self.persistClock(db, self.clock.latest)
            }
            return (result, tables, ownSeq)
        }
        notify(tables)
        if ownSeq != nil { try await reannounceOwnRows() }
        return result
    }
}
