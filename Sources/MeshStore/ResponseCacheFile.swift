import Foundation
import GRDB

/// The router's response cache on disk: a SQLite file of its own beside the store, never
/// replicated (a node's cached answers are its own), so that kept answers survive a restart.
///
/// It is a copy of what the router holds in memory, written in batches off the request path;
/// losing it costs nothing but upstream calls. A file that cannot be opened is replaced.
public final class ResponseCacheFile: Sendable {
    /// One kept answer.
    public struct Entry: Sendable, Equatable {
        /// The request's key (64 hex digits).
        public var key: String
        public var contentType: String
        /// Whether the body is a stream's events (replayed as a stream).
        public var streamed: Bool
        public var body: [UInt8]
        /// What answered: the physical model, the node, the cloud provider if any.
        public var model: String
        public var servedBy: String
        public var provider: String?
        public var promptTokens: Int64
        public var completionTokens: Int64
        /// What the answer cost when it was made, and what it saved then.
        public var costUSD: Double
        public var savingUSD: Double
        public var createdAt: Int64
        public var expiresAt: Int64

        public init(
            key: String, contentType: String, streamed: Bool, body: [UInt8], model: String, servedBy: String, provider: String?, promptTokens: Int64,
            completionTokens: Int64, costUSD: Double, savingUSD: Double, createdAt: Int64, expiresAt: Int64
        ) {
            self.key = key
            self.contentType = contentType
            self.streamed = streamed
            self.body = body
            self.model = model
            self.servedBy = servedBy
            self.provider = provider
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.costUSD = costUSD
            self.savingUSD = savingUSD
            self.createdAt = createdAt
            self.expiresAt = expiresAt
        }
    }

    private let queue: DatabaseQueue
    public let path: String

    /// The table's layout: a file of another layout is emptied (it is only a cache).
    static let layout = 2

    /// Opens the file at `path`, creating it. A file that is not a database, or is corrupt, is
    /// deleted and created anew; other failures (permissions, a lock) are thrown.
    public init(path: String) throws {
        self.path = path
        do {
            queue = try Self.open(path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            queue = try Self.open(path)
        }
    }

    private static func open(_ path: String) throws -> DatabaseQueue {
        // Answers are the agents' conversations: readable by this user only (SQLite gives its
        // journal the same mode).
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path + suffix)
        }
        var config = Configuration()
        config.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: config)
        try queue.write { db in
            guard try Int.fetchOne(db, sql: "PRAGMA user_version") != layout else { return }
            // A rowid table: its rows hold whole answers, too large for WITHOUT ROWID's B-tree.
            try db.execute(sql: """
                DROP TABLE IF EXISTS response_cache;
                CREATE TABLE response_cache (
                  key TEXT PRIMARY KEY NOT NULL,
                  content_type TEXT NOT NULL,
                  streamed INTEGER NOT NULL,
                  body BLOB NOT NULL,
                  model TEXT NOT NULL,
                  served_by TEXT NOT NULL,
                  provider TEXT,
                  prompt_tokens INTEGER NOT NULL,
                  completion_tokens INTEGER NOT NULL,
                  cost_usd REAL NOT NULL,
                  saving_usd REAL NOT NULL,
                  created_at INTEGER NOT NULL,
                  expires_at INTEGER NOT NULL
                );
                PRAGMA user_version = \(layout);
                """)
        }
        return queue
    }

    /// The answers still fresh at `now`, newest first, as many as fit in `maxBytes` of bodies;
    /// the rest are deleted. Only the bodies kept are read.
    public func load(now: Int64, maxBytes: Int64, maxEntryBytes: Int) async throws -> [Entry] {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM response_cache WHERE expires_at <= ? OR length(body) > ?", arguments: [now, maxEntryBytes])
            var total: Int64 = 0
            var chosen: [String] = []
            var dropped: [String] = []
            let sizes = try Row.fetchCursor(db, sql: "SELECT key, length(body) FROM response_cache ORDER BY created_at DESC")
            while let row = try sizes.next() {
                // The file is not trusted to hold text keys: a row that is not what was written goes.
                guard let key = String.fromDatabaseValue(row[0] as DatabaseValue) else { continue }
                let size = Int64.fromDatabaseValue(row[1] as DatabaseValue) ?? Int64.max
                if total + size > maxBytes {
                    dropped.append(key)
                } else {
                    total += size
                    chosen.append(key)
                }
            }
            let delete = try db.cachedStatement(sql: "DELETE FROM response_cache WHERE key = ?")
            for key in dropped { try delete.execute(arguments: [key]) }
            let select = try db.cachedStatement(sql: """
                SELECT key, content_type, streamed, body, model, served_by, provider, prompt_tokens, completion_tokens, cost_usd, saving_usd, created_at, expires_at
                FROM response_cache WHERE key = ?
                """)
            return try chosen.compactMap { key in try Row.fetchOne(select, arguments: [key]).flatMap(Self.entry) }
        }
    }

    /// A row as an entry, or nil when a value is missing or of the wrong type: the file is not
    /// trusted to hold what was written (GRDB's plain subscripts would trap on it).
    private static func entry(_ row: Row) -> Entry? {
        func value<T: DatabaseValueConvertible>(_ index: Int) -> T? { T.fromDatabaseValue(row[index] as DatabaseValue) }
        guard let key: String = value(0), let contentType: String = value(1), let streamed: Bool = value(2), let body: Data = value(3),
              let model: String = value(4), let servedBy: String = value(5), let promptTokens: Int64 = value(7), let completionTokens: Int64 = value(8),
              let costUSD: Double = value(9), let savingUSD: Double = value(10), let createdAt: Int64 = value(11), let expiresAt: Int64 = value(12)
        else { return nil }
        return Entry(
            key: key, contentType: contentType, streamed: streamed, body: Array(body), model: model, servedBy: servedBy, provider: value(6),
            promptTokens: promptTokens, completionTokens: completionTokens, costUSD: costUSD, savingUSD: savingUSD, createdAt: createdAt, expiresAt: expiresAt
        )
    }

    /// Writes new answers and forgets evicted ones, in one transaction.
    public func apply(puts: [Entry], deletes: [String]) async throws {
        guard !puts.isEmpty || !deletes.isEmpty else { return }
        try await queue.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM response_cache WHERE key = ?")
            for key in deletes { try delete.execute(arguments: [key]) }
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO response_cache
                  (key, content_type, streamed, body, model, served_by, provider, prompt_tokens, completion_tokens, cost_usd, saving_usd, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for entry in puts {
                try insert.execute(arguments: [
                    entry.key, entry.contentType, entry.streamed, Data(entry.body), entry.model, entry.servedBy, entry.provider, entry.promptTokens,
                    entry.completionTokens, entry.costUSD, entry.savingUSD, entry.createdAt, entry.expiresAt,
                ])
            }
        }
    }

    /// How many answers the file holds (for tests).
    public func count() async throws -> Int {
        try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM response_cache") ?? 0 }
    }
}
