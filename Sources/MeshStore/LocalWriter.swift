import GRDB

/// The handle a write transaction gets: puts stamp, check ownership and log every row.
///
/// Obtain one through ``MeshStore/write(_:)``; it is only valid inside that closure.
public struct LocalWriter {
    let db: Database
    let nodeID: String
    let clock: HybridLogicalClock
    private var sequence: Int64?
    private var lastStamp: HLCTimestamp?
    private(set) var touched: Set<ReplicatedTable> = []

    init(db: Database, nodeID: String, clock: HybridLogicalClock) {
        self.db = db
        self.nodeID = nodeID
        self.clock = clock
    }

    /// Writes `record` as this node's latest version of that row and returns it stamped.
    ///
    /// Throws ``StoreError/Code/notOwner`` for a row of an owned table that belongs to
    /// another node.
    @discardableResult
    public mutating func put<R: ReplicatedRecord>(_ record: R) throws -> R {
        let schema = R.replicatedTable.schema
        var stamped = record
        stamped.origin = nodeID
        stamped.hlc = clock.now()
        try putValues(schema: schema, values: try Self.values(of: stamped, schema: schema), stamp: stamped.hlc)
        return stamped
    }

    /// Writes raw column values stamped `stamp`: the ownership check, the upsert and the change
    /// log entry that every local write goes through.
    mutating func putValues(schema: TableSchema, values: [DatabaseValue], stamp: HLCTimestamp) throws {
        if let owner = schema.ownerColumn, values[owner] != nodeID.databaseValue {
            throw StoreError(.notOwner, "node \(nodeID) cannot write \(schema.name) rows owned by \(values[owner])")
        }
        _ = try Self.upsert(db, schema: schema, values: values, origin: nodeID, hlc: stamp)
        let (payload, keyLength) = ValueCodec.encode(values, keyCount: schema.primaryKeyCount)
        try Self.appendLog(db, origin: nodeID, originSeq: try nextSequence(), hlc: stamp, table: schema.table,
                           key: payload[0..<keyLength], payload: payload)
        lastStamp = stamp
        touched.insert(schema.table)
    }

    /// Writes `record` only when its data differs from the stored row; returns whether it wrote.
    /// Keeps periodic refreshes (model discovery, config registration) from flooding the log.
    @discardableResult
    public mutating func putIfChanged<R: ReplicatedRecord>(_ record: R) throws -> Bool {
        let schema = R.replicatedTable.schema
        let values = try Self.values(of: record, schema: schema)
        let keyColumns = schema.columns[0..<schema.primaryKeyCount]
        let condition = keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
        let row = try Row.fetchOne(
            db, sql: "SELECT \(schema.columns.joined(separator: ",")) FROM \(schema.name) WHERE \(condition)",
            arguments: StatementArguments(Array(values[0..<schema.primaryKeyCount]))
        )
        if let row, schema.columns.indices.allSatisfy({ row[$0] as DatabaseValue == values[$0] }) { return false }
        try put(record)
        return true
    }

    // MARK: - Internals shared with apply

    static func values<R: ReplicatedRecord>(of record: R, schema: TableSchema) throws -> [DatabaseValue] {
        let dictionary = try record.databaseDictionary
        return schema.columns.map { dictionary[$0] ?? .null }
    }

    /// Last-writer-wins upsert; returns whether the row was written.
    static func upsert(_ db: Database, schema: TableSchema, values: [DatabaseValue], origin: String, hlc: HLCTimestamp) throws -> Bool {
        let statement = try db.cachedStatement(sql: schema.upsertSQL)
        statement.setUncheckedArguments(StatementArguments(values + [origin.databaseValue, hlc.databaseValue]))
        try statement.execute()
        return db.changesCount > 0
    }

    static func appendLog(
        _ db: Database, origin: String, originSeq: Int64, hlc: HLCTimestamp, table: ReplicatedTable,
        key: ArraySlice<UInt8>, payload: [UInt8]
    ) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT INTO change_log (origin, origin_seq, hlc, tbl, pk, vals) VALUES (?, ?, ?, ?, ?, ?)"
        )
        statement.setUncheckedArguments([origin, originSeq, hlc, Int(table.rawValue), Data(key), Data(payload)])
        try statement.execute()
    }

    private mutating func nextSequence() throws -> Int64 {
        let current = try sequence ?? Int64.fetchOne(db, sql: "SELECT seq FROM sync_vector WHERE origin = ?", arguments: [nodeID]) ?? 0
        // Peers refuse sequences past the limit, and the store adopts none near it, so this
        // only fires on a store damaged before those checks existed: an error, never a trap.
        guard current < Change.maxSequence else {
            throw StoreError(.sequenceExhausted, "this node's change sequence is at \(current), past the mesh's limit \(Change.maxSequence); reset its data directory")
        }
        sequence = current + 1
        return current + 1
    }

    /// Persists the advanced sequence and clock; called once, at the end of the transaction.
    mutating func finish() throws {
        if let sequence {
            try db.execute(
                sql: """
                    INSERT INTO sync_vector (origin, seq, floor, last_arrival) VALUES (?, ?, 0, ?)
                    ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq, last_arrival = excluded.last_arrival
                    """,
                arguments: [nodeID, sequence, clock.wallMilliseconds()]
            )
        }
        if let lastStamp {
            try MeshStore.persistClock(db, lastStamp)
        }
    }
}

import Foundation

extension MeshStore {
    static func persistClock(_ db: Database, _ stamp: HLCTimestamp) throws {
        try db.execute(
            sql: "INSERT INTO meta (key, value) VALUES ('hlc', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            arguments: [String(stamp.storedValue)]
        )
    }
}
