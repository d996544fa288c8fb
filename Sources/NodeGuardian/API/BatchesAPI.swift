import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore

/// OpenAI's Batches API: `POST /v1/batches` (`input_file_id`, `endpoint`, `completion_window`,
/// `metadata`), `GET /v1/batches/{id}`, `GET /v1/batches` (`limit`, `after`),
/// `POST /v1/batches/{id}/cancel`. The input file is read when the batch is created: a batch
/// whose file does not hold valid requests is created `failed`, with each problem's line, as
/// OpenAI does. A valid one is `in_progress` at once and this node's ``BatchRunner`` runs it.
struct BatchesAPI {
    let batches: BatchStore
    let audience: Audience
    let openLocalhost: Bool
    /// Reads of what another node holds.
    let remote: BatchRemote
    let runner: BatchRunner
    let now: @Sendable () -> Int64

    static let endpoints: Set<String> = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
    static let maxRequests = 10_000
    /// Batches of one agent not ended yet, at most.
    static let maxActivePerAgent = 20

    func register(on router: Router<MeshRequestContext>) {
        router.post("/v1/batches") { request, context in try await create(request, context) }
        router.get("/v1/batches") { request, context in
            let reader = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote)
            let query = request.uri.queryParameters
            let limit = try query.get("limit").map { text -> Int in
                guard let limit = Int(text), (1...100).contains(limit) else {
                    throw APIError.badRequest("limit must be 1...100", code: "invalid_parameter", param: "limit")
                }
                return limit
            } ?? 20
            let found = try await batches.batches(agent: reader.filter, after: query.get("after"), limit: limit + 1)
            let page = Array(found.prefix(limit))
            return JSONResponse.make([
                "object": "list", "data": .array(page.map(Self.view)), "first_id": page.first.map { .string($0.id) } ?? .null,
                "last_id": page.last.map { .string($0.id) } ?? .null, "has_more": .bool(found.count > limit),
            ])
        }
        router.get("/v1/batches/{id}") { request, context in
            let reader = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote, peerRead: true)
            let id = try context.parameters.require("id")
            // Held by another node: read there (a peer's own read is answered from here).
            if let node = remote.remoteNode(of: id, prefix: "batch_"), !BatchRemote.isPeerRead(request) {
                return try await remote.fetch(request.uri.path, from: node, reader: reader, content: .json)
            }
            return JSONResponse.make(Self.view(try await owned(id, by: reader)))
        }
        router.post("/v1/batches/{id}/cancel") { request, context in
            let reader = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote)
            let batch = try await owned(try context.parameters.require("id"), by: reader)
            guard batch.status == "in_progress" || batch.status == "validating" || batch.status == "cancelling" else {
                throw APIError(status: .conflict, code: "batch_not_cancellable", message: "batch \(batch.id) is \(batch.status)")
            }
            let cancelled = try await batches.cancel(batch.id, now: now()) ?? batch
            runner.wake()
            return JSONResponse.make(Self.view(cancelled))
        }
    }

    private func create(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let owner = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote).owner
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        guard case .object(let fields)? = try? JSONValue.parse(body.readableBytesView) else {
            throw APIError.badRequest("the body must be a JSON object", code: "invalid_json")
        }
        guard let fileID = fields["input_file_id"]?.stringValue else { throw APIError.missingField("input_file_id") }
        guard let endpoint = fields["endpoint"]?.stringValue else { throw APIError.missingField("endpoint") }
        guard Self.endpoints.contains(endpoint) else {
            throw APIError.badRequest("endpoint must be one of \(Self.endpoints.sorted().joined(separator: ", "))", code: "invalid_endpoint", param: "endpoint")
        }
        let window = fields["completion_window"]?.stringValue ?? "24h"
        guard window == "24h" else { throw APIError.badRequest("completion_window must be 24h", code: "invalid_completion_window", param: "completion_window") }
        let metadata = fields["metadata"]
        if let metadata, metadata != .null {
            guard let entries = metadata.objectValue, entries.count <= 16, entries.allSatisfy({ $0.key.utf8.count <= 64 && ($0.value.stringValue?.utf8.count ?? 513) <= 512 }) else {
                throw APIError.badRequest("metadata must be at most 16 string values (keys of 64 bytes, values of 512)", code: "invalid_metadata", param: "metadata")
            }
        }
        guard let file = try await batches.file(fileID), file.agent == owner else { throw APIError.notFound("no file \(fileID)", code: "file_not_found") }
        guard try await batches.activeBatches().filter({ $0.agent == owner }).count < Self.maxActivePerAgent else {
            throw APIError(status: .tooManyRequests, code: "too_many_batches", message: "an agent has at most \(Self.maxActivePerAgent) batches running; wait for one to end")
        }
        guard file.purpose == "batch" else { throw APIError.badRequest("file \(fileID) is not a batch input file", code: "invalid_file", param: "input_file_id") }
        let content = try await batches.content(of: fileID) ?? []
        let id = remote.newID("batch_")
        let now = now()
        let (items, problems) = Self.requests(content, batchID: id, endpoint: endpoint)
        var batch = BatchStore.Batch(
            id: id, agent: owner, inputFileID: fileID, endpoint: endpoint, completionWindow: window, status: problems.isEmpty ? "in_progress" : "failed",
            metadata: metadata.flatMap { $0 == .null ? nil : $0.jsonString }, createdAt: now, expiresAt: now + 86_400_000
        )
        if problems.isEmpty {
            batch.inProgressAt = now
        } else {
            batch.failedAt = now
            batch.errors = JSONValue.object(["object": "list", "data": .array(problems)]).jsonString
        }
        try await batches.addBatch(batch, items: problems.isEmpty ? items : [])
        runner.wake()
        return JSONResponse.make(Self.view(try await batches.batch(id) ?? batch))
    }

    /// The requests of a JSONL input file, or what is wrong with it (at most 100 problems).
    static func requests(_ content: [UInt8], batchID: String, endpoint: String) -> ([BatchStore.Item], [JSONValue]) {
        var items: [BatchStore.Item] = []
        var problems: [JSONValue] = []
        var seen: Set<String> = []
        func problem(_ line: Int, _ code: String, _ message: String) {
            if problems.count < 100 { problems.append(["code": .string(code), "message": .string(message), "param": .null, "line": .int(Int64(line))]) }
        }
        // Line by line as it goes (a file of empty lines must not become millions of slices), and
        // no further than a batch can hold.
        var start = 0
        var line = 0
        while start < content.count, problems.count < 100 {
            let end = content[start...].firstIndex(of: 0x0a) ?? content.count
            let text = content[start..<end]
            start = end + 1
            line += 1
            guard line <= maxRequests + 100 else {
                problem(line, "too_many_lines", "a batch's file holds at most \(maxRequests) requests")
                break
            }
            guard !text.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) else { continue }
            guard items.count < maxRequests else {
                problem(line, "too_many_requests", "a batch holds at most \(maxRequests) requests")
                break
            }
            guard case .object(let request)? = try? JSONValue.parse(text) else {
                problem(line, "invalid_json_line", "the line is not a JSON object")
                continue
            }
            guard let customID = request["custom_id"]?.stringValue, (1...512).contains(customID.utf8.count) else {
                problem(line, "missing_custom_id", "custom_id must be a string of 1 to 512 bytes")
                continue
            }
            guard seen.insert(customID).inserted else {
                problem(line, "duplicate_custom_id", "custom_id \(customID) is used twice")
                continue
            }
            guard request["method"]?.stringValue == "POST" else {
                problem(line, "invalid_method", "method must be POST")
                continue
            }
            guard request["url"]?.stringValue == endpoint else {
                problem(line, "mismatched_url", "url must be the batch's endpoint, \(endpoint)")
                continue
            }
            guard let body = request["body"], case .object(let object) = body, object["model"]?.stringValue != nil else {
                problem(line, "invalid_body", "body must be an object naming a model")
                continue
            }
            // A batch's answers are whole documents: a stream has no place in the output file.
            var plain = object
            plain["stream"] = nil
            plain["stream_options"] = nil
            items.append(BatchStore.Item(batchID: batchID, line: line, customID: customID, body: JSONValue.object(plain).serialized()))
        }
        if items.isEmpty, problems.isEmpty { problem(1, "empty_file", "the input file holds no requests") }
        return (items, problems)
    }

    /// The batch `id` names, if `reader` may see it; 404 otherwise.
    private func owned(_ id: String, by reader: BatchReader) async throws -> BatchStore.Batch {
        guard let batch = try await batches.batch(id), reader.sees(batch.agent) else {
            throw APIError.notFound("no batch \(id)", code: "batch_not_found")
        }
        return batch
    }

    /// OpenAI's Batch object (times in seconds).
    static func view(_ batch: BatchStore.Batch) -> JSONValue {
        func time(_ ms: Int64?) -> JSONValue { ms.map { .int($0 / 1000) } ?? .null }
        let errors = batch.errors.flatMap { try? JSONValue.parse(Array($0.utf8)) } ?? .null
        let metadata = batch.metadata.flatMap { try? JSONValue.parse(Array($0.utf8)) } ?? .null
        return [
            "id": .string(batch.id), "object": "batch", "endpoint": .string(batch.endpoint), "errors": errors, "input_file_id": .string(batch.inputFileID),
            "completion_window": .string(batch.completionWindow), "status": .string(batch.status),
            "output_file_id": batch.outputFileID.map(JSONValue.string) ?? .null, "error_file_id": batch.errorFileID.map(JSONValue.string) ?? .null,
            "created_at": time(batch.createdAt), "in_progress_at": time(batch.inProgressAt), "expires_at": time(batch.expiresAt),
            "finalizing_at": time(batch.finalizingAt), "completed_at": time(batch.completedAt), "failed_at": time(batch.failedAt), "expired_at": time(batch.expiredAt),
            "cancelling_at": time(batch.cancellingAt), "cancelled_at": time(batch.cancelledAt),
            "request_counts": ["total": .int(Int64(batch.total)), "completed": .int(Int64(batch.completed)), "failed": .int(Int64(batch.failed))],
            "metadata": metadata,
        ]
    }
}
