import Foundation
import GRDB
import MeshCore

/// Deferred batches (OpenAI's Files and Batches APIs) on the node that took them: the files,
/// the batches and each request of each batch, in a SQLite file of its own beside the store.
///
/// A batch lives where it was created: that node's runner sends its requests through the router
/// (which spreads them over the mesh), writes each answer the moment it comes — so a batch
/// survives a restart, and a request answered is never run again — and writes the output and
/// error files at the end.
public final class BatchStore: Sendable {
    /// An uploaded or generated file.
    public struct File: Sendable, Equatable {
        public var id: String
        public var agent: String
        public var purpose: String
        public var filename: String
        public var bytes: Int64
        public var createdAt: Int64

        public init(id: String, agent: String, purpose: String, filename: String, bytes: Int64, createdAt: Int64) {
            self.id = id
            self.agent = agent
            self.purpose = purpose
            self.filename = filename
            self.bytes = bytes
            self.createdAt = createdAt
        }
    }

    /// A batch and where it stands; the request counts come from its requests.
    public struct Batch: Sendable, Equatable {
        public var id: String
        public var agent: String
        public var inputFileID: String
        public var endpoint: String
        public var completionWindow: String
        /// OpenAI's: `validating`, `failed`, `in_progress`, `finalizing`, `completed`, `expired`,
        /// `cancelling`, `cancelled`.
        public var status: String
        /// The client's metadata, as JSON.
        public var metadata: String?
        /// Why the batch failed validation, as OpenAI's `errors` JSON.
        public var errors: String?
        public var createdAt: Int64
        public var inProgressAt: Int64?
        public var finalizingAt: Int64?
        public var completedAt: Int64?
        public var failedAt: Int64?
        public var cancellingAt: Int64?
        public var cancelledAt: Int64?
        public var expiredAt: Int64?
        public var expiresAt: Int64
        public var outputFileID: String?
        public var errorFileID: String?
        public var total = 0
        public var completed = 0
        public var failed = 0

        public init(
            id: String, agent: String, inputFileID: String, endpoint: String, completionWindow: String, status: String, metadata: String?,
            createdAt: Int64, expiresAt: Int64
        ) {
            self.id = id
            self.agent = agent
            self.inputFileID = inputFileID
            self.endpoint = endpoint
            self.completionWindow = completionWindow
            self.status = status
            self.metadata = metadata
            self.createdAt = createdAt
            self.expiresAt = expiresAt
        }
    }

    /// One request of a batch: its line in the input file, its `custom_id` and body.
    public struct Item: Sendable, Equatable {
        public var batchID: String
        public var line: Int
        public var customID: String
        public var body: [UInt8]

        public init(batchID: String, line: Int, customID: String, body: [UInt8]) {
            self.batchID = batchID
            self.line = line
            self.customID = customID
            self.body = body
        }
    }

    /// A request's answer: the status and body the router gave, and its request id.
    public struct Answer: Sendable, Equatable {
        public var status: Int
        public var requestID: String
        public var body: [UInt8]

        public init(status: Int, requestID: String, body: [UInt8]) {
            self.status = status
            self.requestID = requestID
            self.body = body
        }
    }

    private let queue: DatabasePool
    public let path: String

    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            // The agents' prompts and answers: this user's only.
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        // WAL (a pool): the API reads while the runner writes; NORMAL sync, as the store's.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        queue = try DatabasePool(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: files, batches, requests") { db in
            try db.execute(sql: """
                CREATE TABLE file (
                  id TEXT PRIMARY KEY NOT NULL, agent TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL,
                  bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, content BLOB NOT NULL
                );
                CREATE INDEX file_agent ON file(agent, created_at);
                CREATE TABLE batch (
                  id TEXT PRIMARY KEY NOT NULL, agent TEXT NOT NULL, input_file_id TEXT NOT NULL, endpoint TEXT NOT NULL,
                  completion_window TEXT NOT NULL, status TEXT NOT NULL, metadata TEXT, errors TEXT, created_at INTEGER NOT NULL,
                  in_progress_at INTEGER, finalizing_at INTEGER, completed_at INTEGER, failed_at INTEGER, cancelling_at INTEGER,
                  cancelled_at INTEGER, expired_at INTEGER, expires_at INTEGER NOT NULL, output_file_id TEXT, error_file_id TEXT
                );
                CREATE INDEX batch_agent ON batch(agent, created_at);
                CREATE TABLE item (
                  batch_id TEXT NOT NULL, line INTEGER NOT NULL, custom_id TEXT NOT NULL, body BLOB NOT NULL,
                  status INTEGER, request_id TEXT, answer BLOB,
                  PRIMARY KEY (batch_id, line)
                );
                CREATE INDEX item_pending ON item(batch_id, line) WHERE status IS NULL;
                """)
        }
        try migrator.migrate(queue)
    }

    // MARK: - Files

    public func addFile(_ file: File, content: [UInt8]) async throws {
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO file (id, agent, purpose, filename, bytes, created_at, content) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [file.id, file.agent, file.purpose, file.filename, file.bytes, file.createdAt, Data(content)]
            )
        }
    }

    public func file(_ id: String) async throws -> File? {
        try await queue.read { db in try Row.fetchOne(db, sql: "SELECT \(Self.fileColumns) FROM file WHERE id = ?", arguments: [id]).map(Self.file) }
    }

    public func content(of id: String) async throws -> [UInt8]? {
        try await queue.read { db in try Data.fetchOne(db, sql: "SELECT content FROM file WHERE id = ?", arguments: [id]).map { Array($0) } }
    }

    /// An agent's files (every file with nil), newest first.
    public func files(agent: String?, limit: Int) async throws -> [File] {
        try await queue.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.fileColumns) FROM file WHERE ?1 IS NULL OR agent = ?1 ORDER BY created_at DESC LIMIT ?2",
                arguments: [agent, limit]
            ).map(Self.file)
        }
    }

    @discardableResult
    public func deleteFile(_ id: String) async throws -> Bool {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM file WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    private static let fileColumns = "id, agent, purpose, filename, bytes, created_at"
    private static func file(_ row: Row) -> File {
        File(id: row[0], agent: row[1], purpose: row[2], filename: row[3], bytes: row[4], createdAt: row[5])
    }

    // MARK: - Batches

    /// Stores a batch with its requests, in one transaction.
    public func addBatch(_ batch: Batch, items: [Item]) async throws {
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO batch (id, agent, input_file_id, endpoint, completion_window, status, metadata, errors, created_at,
                      in_progress_at, failed_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    batch.id, batch.agent, batch.inputFileID, batch.endpoint, batch.completionWindow, batch.status, batch.metadata, batch.errors,
                    batch.createdAt, batch.inProgressAt, batch.failedAt, batch.expiresAt,
                ]
            )
            let insert = try db.cachedStatement(sql: "INSERT INTO item (batch_id, line, custom_id, body) VALUES (?, ?, ?, ?)")
            for item in items { try insert.execute(arguments: [item.batchID, item.line, item.customID, Data(item.body)]) }
        }
    }

    public func batch(_ id: String) async throws -> Batch? {
        try await queue.read { db in try Self.batch(db, id) }
    }

    /// An agent's batches (every batch with nil), newest first, after the batch `after` if given.
    public func batches(agent: String?, after: String?, limit: Int) async throws -> [Batch] {
        try await queue.read { db in
            let since = try after.flatMap { try Int64.fetchOne(db, sql: "SELECT created_at FROM batch WHERE id = ?", arguments: [$0]) }
            let ids = try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM batch WHERE (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3))
                    ORDER BY created_at DESC, id DESC LIMIT ?4
                    """,
                arguments: [agent, since, after, limit]
            )
            return try ids.compactMap { try Self.batch(db, $0) }
        }
    }

    /// Batches whose requests are still to run (or to be given up, when cancelling), without
    /// their counts (read on every step of the runner: it must not walk their requests).
    public func activeBatches() async throws -> [Batch] {
        try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM batch WHERE status IN ('in_progress', 'cancelling') ORDER BY created_at")
                .compactMap { try Self.batch(db, $0, counted: false) }
        }
    }

    /// Marks a batch cancelling (from validating or in progress); returns it as it now is.
    public func cancel(_ id: String, now: Int64) async throws -> Batch? {
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE batch SET status = 'cancelling', cancelling_at = ? WHERE id = ? AND status IN ('validating', 'in_progress')",
                arguments: [now, id]
            )
            return try Self.batch(db, id)
        }
    }

    private static func batch(_ db: Database, _ id: String, counted: Bool = true) throws -> Batch? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, agent, input_file_id, endpoint, completion_window, status, metadata, errors, created_at, in_progress_at, finalizing_at,
              completed_at, failed_at, cancelling_at, cancelled_at, expires_at, output_file_id, error_file_id, expired_at
            FROM batch WHERE id = ?
            """, arguments: [id])
        else { return nil }
        var batch = Batch(
            id: row[0], agent: row[1], inputFileID: row[2], endpoint: row[3], completionWindow: row[4], status: row[5], metadata: row[6],
            createdAt: row[8], expiresAt: row[15]
        )
        batch.errors = row[7]
        batch.inProgressAt = row[9]
        batch.finalizingAt = row[10]
        batch.completedAt = row[11]
        batch.failedAt = row[12]
        batch.cancellingAt = row[13]
        batch.cancelledAt = row[14]
        batch.outputFileID = row[16]
        batch.errorFileID = row[17]
        batch.expiredAt = row[18]
        guard counted else { return batch }
        let counts = try Row.fetchOne(db, sql: """
            SELECT count(*), coalesce(sum(status BETWEEN 200 AND 299), 0), coalesce(sum(status IS NOT NULL AND status NOT BETWEEN 200 AND 299), 0)
            FROM item WHERE batch_id = ?
            """, arguments: [id])
        batch.total = Int.fromDatabaseValue(counts?[0] ?? .null) ?? 0
        batch.completed = Int.fromDatabaseValue(counts?[1] ?? .null) ?? 0
        batch.failed = Int.fromDatabaseValue(counts?[2] ?? .null) ?? 0
        return batch
    }

    // MARK: - Requests

    /// Up to `limit` requests of a batch not answered yet, in order, leaving out `excluding`
    /// (those in flight).
    public func pendingItems(_ batchID: String, excluding: Set<Int>, limit: Int) async throws -> [Item] {
        try await queue.read { db in
            var items: [Item] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT line, custom_id, body FROM item WHERE batch_id = ? AND status IS NULL ORDER BY line", arguments: [batchID])
            while items.count < limit, let row = try rows.next() {
                let line: Int = row[0]
                if excluding.contains(line) { continue }
                let body: Data = row[2]
                items.append(Item(batchID: batchID, line: line, customID: row[1], body: Array(body)))
            }
            return items
        }
    }

    /// Records a request's answer, once: false when it was answered already.
    @discardableResult
    public func answer(_ batchID: String, line: Int, with answer: Answer) async throws -> Bool {
        try await queue.write { db in
            try db.cachedStatement(sql: "UPDATE item SET status = ?, request_id = ?, answer = ? WHERE batch_id = ? AND line = ? AND status IS NULL")
                .execute(arguments: [answer.status, answer.requestID, Data(answer.body), batchID, line])
            return db.changesCount > 0
        }
    }

    /// Marks a batch failed (its output could not be written), with a message.
    public func fail(_ batchID: String, now: Int64, message: String) async throws {
        let errors = JSONValue.object(["object": "list", "data": [["code": "output_failed", "message": .string(message), "param": .null, "line": .null]]]).jsonString
        try await queue.write { db in
            try db.execute(sql: "UPDATE batch SET status = 'failed', failed_at = ?, errors = ? WHERE id = ?", arguments: [now, errors, batchID])
        }
    }

    /// Ends a batch: its output file (the answered requests that succeeded) and error file (those
    /// that did not), as JSONL in the order of the input, and its final status — in one
    /// transaction, so a batch is never half ended.
    public func finish(_ batchID: String, status: String, now: Int64, makeID: @Sendable () -> String) async throws {
        try await queue.write { db in
            guard let batch = try Self.batch(db, batchID), batch.status == "in_progress" || batch.status == "cancelling" else { return }
            let stamp: String
            switch status {
            case "cancelled": stamp = "cancelled_at"
            case "expired": stamp = "expired_at"
            default: stamp = "completed_at"
            }
            var output: [UInt8] = []
            var errors: [UInt8] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT line, custom_id, status, request_id, answer FROM item WHERE batch_id = ? AND status IS NOT NULL ORDER BY line", arguments: [batchID])
            while let row = try rows.next() {
                let line: Int = row[0], customID: String = row[1], code: Int = row[2], requestID: String? = row[3]
                let answer: Data = row[4] ?? Data()
                let record = BatchOutput.line(batchID: batchID, line: line, customID: customID, status: code, requestID: requestID ?? "", body: Array(answer))
                if (200...299).contains(code) { output += record } else { errors += record }
            }
            func store(_ content: [UInt8], _ name: String) throws -> String? {
                guard !content.isEmpty else { return nil }
                let id = makeID()
                try db.execute(
                    sql: "INSERT INTO file (id, agent, purpose, filename, bytes, created_at, content) VALUES (?, ?, 'batch_output', ?, ?, ?, ?)",
                    arguments: [id, batch.agent, "\(batchID)_\(name).jsonl", content.count, now, Data(content)]
                )
                return id
            }
            let outputID = try store(output, "output")
            let errorID = try store(errors, "error")
            try db.execute(
                sql: "UPDATE batch SET status = ?, finalizing_at = ?, \(stamp) = ?, output_file_id = ?, error_file_id = ? WHERE id = ?",
                arguments: [status, now, now, outputID, errorID, batchID]
            )
        }
    }
}

/// One line of a batch's output or error file, in OpenAI's shape:
/// `{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`.
public enum BatchOutput {
    public static func line(batchID: String, line: Int, customID: String, status: Int, requestID: String, body: [UInt8]) -> [UInt8] {
        // The body is the router's JSON answer; anything else (it never should be) goes as a string.
        let parsed = (try? JSONValue.parse(body)) ?? .string(String(decoding: body, as: UTF8.self))
        let record: JSONValue = [
            "id": .string("batch_req_\(batchID.dropFirst("batch_".count))_\(line)"),
            "custom_id": .string(customID),
            "response": ["status_code": .int(Int64(status)), "request_id": .string(requestID), "body": parsed],
            "error": .null,
        ]
        return record.serialized() + [0x0a]
    }
}
