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

    /// Opens the file at `path`, creating it; a file that is not a cache (corrupt, another
    /// schema) is deleted and created anew.
    public init(path: String) throws {
        self.path = path
        do {
            queue = try Self.open(path)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            queue = try Self.open(path)
        }
    }

    private static func open(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: config)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS response_cache (
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
                ) WITHOUT ROWID
                """)
            // The check that this is our table, with the columns read below.
            _ = try Row.fetchOne(db, sql: "SELECT key, content_type, streamed, body, model, served_by, provider, prompt_tokens, completion_tokens, cost_usd, saving_usd, created_at, expires_at FROM response_cache LIMIT 1")
        }
        return queue
    }

    /// The answers still fresh at `now`, newest first, as many as fit in `maxBytes` of bodies;
    /// the rest are deleted.
    public func load(now: Int64, maxBytes: Int64, maxEntryBytes: Int) throws -> [Entry] {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM response_cache WHERE expires_at <= ? OR length(body) > ?", arguments: [now, maxEntryBytes])
            var total: Int64 = 0
            var kept: [Entry] = []
            var dropped: [String] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT key, content_type, streamed, body, model, served_by, provider, prompt_tokens, completion_tokens, cost_usd, saving_usd, created_at, expires_at
                FROM response_cache ORDER BY created_at DESC
                """)
            while let row = try rows.next() {
                let body: Data = row[3]
                let entry = Entry(
                    key: row[0], contentType: row[1], streamed: row[2], body: Array(body), model: row[4], servedBy: row[5], provider: row[6],
                    promptTokens: row[7], completionTokens: row[8], costUSD: row[9], savingUSD: row[10], createdAt: row[11], expiresAt: row[12]
                )
                if total + Int64(entry.body.count) > maxBytes {
                    dropped.append(entry.key)
                    continue
                }
                total += Int64(entry.body.count)
                kept.append(entry)
            }
            for key in dropped { try db.execute(sql: "DELETE FROM response_cache WHERE key = ?", arguments: [key]) }
            return kept
        }
    }

    /// Writes new answers and forgets evicted ones, in one transaction.
    public func apply(puts: [Entry], deletes: [String]) throws {
        guard !puts.isEmpty || !deletes.isEmpty else { return }
        try queue.write { db in
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

    /// How many answers the file holds (for tests and `dagi doctor`).
    public func count() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM response_cache") ?? 0 }
    }
}
