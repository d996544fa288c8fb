import Foundation
import GRDB
import Logging
import Synchronization

/// A node's store: one SQLite database (WAL) holding this node's truth and its replica of
/// every other node's, with the change capture that replication needs.
///
/// All SQL of the project lives in this module. Other modules read through typed queries and
/// write through ``write(_:)``, which stamps each row with this node's id and hybrid logical
/// clock and appends the change to the change log in the same transaction. See
/// ``ReplicatedTable`` for the ownership rules.
public final class MeshStore: Sendable {
    /// This node's id; the `origin` of every local write.
    public let nodeID: String
    /// The database file.
    public let path: String
    /// This node's hybrid logical clock.
    public let clock: HybridLogicalClock

    let pool: DatabasePool
    let logger: Logger
    private let observers = Mutex<[UUID: @Sendable (Set<ReplicatedTable>) -> Void]>([:])

    private init(pool: DatabasePool, path: String, nodeID: String, clock: HybridLogicalClock, logger: Logger) {
        self.pool = pool
        self.path = path
        self.nodeID = nodeID
        self.clock = clock
        self.logger = logger
    }

    /// The version of the replicated schema (rows in changes are in its shape).
    public static var schemaVersion: UInt64 { Migrations.count }

    /// The database file inside a data directory.
    public static func databasePath(inDataDirectory directory: String) -> String {
        (directory as NSString).appendingPathComponent("mesh.sqlite")
    }

    /// Opens (creating and migrating if needed) the store of node `nodeID` at `path`.
    ///
    /// Refuses a database that belongs to another node id: replicas keyed by the wrong id
    /// would overwrite the real node's rows on every peer.
    public static func open(
        path: String,
        nodeID: String,
        wallClock: @escaping HybridLogicalClock.WallClock = HybridLogicalClock.systemMilliseconds,
        logger: Logger = Logger(label: "dagi.store")
    ) throws -> MeshStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let pool = try DatabasePool(path: path, configuration: configuration())
        try Migrations.migrator.migrate(pool)
        let storedID = try pool.write { db -> String in
            if let existing = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node_id'") {
                return existing
            }
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('node_id', ?)", arguments: [nodeID])
            try db.execute(sql: "INSERT OR IGNORE INTO sync_vector (origin, seq, floor) VALUES (?, 0, 0)", arguments: [nodeID])
            return nodeID
        }
        guard storedID == nodeID else {
            throw StoreError(
                .nodeMismatch,
                "the store at \(path) belongs to node \"\(storedID)\", not \"\(nodeID)\"; run with --node-id \(storedID) or use another data directory"
            )
        }
        let clock = HybridLogicalClock(wallClock: wallClock, after: try pool.read(Self.persistedClock))
        return MeshStore(pool: pool, path: path, nodeID: storedID, clock: clock, logger: logger)
    }

    /// Opens an existing store without migrating it, for tools such as `dagi` that must not
    /// create a database where none is.
    public static func openExisting(path: String, logger: Logger = Logger(label: "dagi.store")) throws -> MeshStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.missing, "no store at \(path) (has node-guardian run with this data directory?)")
        }
        let pool = try DatabasePool(path: path, configuration: configuration())
        let (nodeID, applied) = try pool.read { db in
            (try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node_id'"),
             try Migrations.migrator.hasCompletedMigrations(db))
        }
        guard let nodeID, applied else {
            throw StoreError(.missing, "\(path) is not a complete DAGI store (start node-guardian once to create it)")
        }
        let clock = HybridLogicalClock(after: try pool.read(Self.persistedClock))
        return MeshStore(pool: pool, path: path, nodeID: nodeID, clock: clock, logger: logger)
    }

    private static func configuration() -> Configuration {
        var config = Configuration()
        // The guardian and `dagi` may write at the same moment; wait rather than fail.
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL + NORMAL survives process crashes (kill -9) without corruption; only a power
            // loss can drop the last commits, which peers resend anyway.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Lets retention give pages back to the file system (applies to new databases).
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
        }
        return config
    }

    /// The highest HLC ever persisted, so the clock never restarts below it.
    private static func persistedClock(_ db: Database) throws -> HLCTimestamp {
        let stored = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'hlc'") ?? 0
        let logged = try Int64.fetchOne(db, sql: "SELECT max(hlc) FROM change_log") ?? 0
        return HLCTimestamp(storedValue: max(stored, logged))
    }

    // MARK: - Writing

    /// Runs `body` in one write transaction. Everything it puts is stamped, logged and committed
    /// together, or not at all if it throws.
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (inout LocalWriter) throws -> T) async throws -> T {
        let (result, tables) = try await pool.write { db in try self.performWrite(db, body) }
        notify(tables)
        return result
    }

    /// The blocking form of ``write(_:)``, for command-line tools and tests.
    @discardableResult
    public func writeNow<T>(_ body: (inout LocalWriter) throws -> T) throws -> T {
        let (result, tables) = try pool.write { db in try self.performWrite(db, body) }
        notify(tables)
        return result
    }

    private func performWrite<T>(_ db: Database, _ body: (inout LocalWriter) throws -> T) throws -> (T, Set<ReplicatedTable>) {
        var writer = LocalWriter(db: db, nodeID: nodeID, clock: clock)
        let result = try body(&writer)
        try writer.finish()
        return (result, writer.touched)
    }

    // MARK: - Change notification

    /// Calls `observer` after each commit that changed replicated rows (local or applied from a
    /// peer), with the tables touched. Returns a token for ``removeObserver(_:)``.
    @discardableResult
    public func addObserver(_ observer: @escaping @Sendable (Set<ReplicatedTable>) -> Void) -> UUID {
        let id = UUID()
        observers.withLock { $0[id] = observer }
        return id
    }

    public func removeObserver(_ id: UUID) {
        _ = observers.withLock { $0.removeValue(forKey: id) }
    }

    func notify(_ tables: Set<ReplicatedTable>) {
        guard !tables.isEmpty else { return }
        for observer in observers.withLock({ Array($0.values) }) { observer(tables) }
    }

    // MARK: - Maintenance

    /// `PRAGMA integrity_check`; "ok" when the database is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Checkpoints the WAL into the main file (on shutdown, so a copy of the file is complete).
    public func checkpoint() throws {
        _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }

    /// Size of the database and its WAL on disk, in bytes.
    public func fileSize() -> Int64 {
        [path, path + "-wal"].reduce(Int64(0)) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)??.int64Value ?? 0
            return total + size
        }
    }
}
