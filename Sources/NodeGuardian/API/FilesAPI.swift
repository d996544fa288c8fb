import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore

/// OpenAI's Files API, for batches: `POST /v1/files` (multipart: `purpose=batch`, `file`),
/// `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`.
/// An agent sees its own files; the operator sees all.
struct FilesAPI {
    let batches: BatchStore
    let audience: Audience
    let openLocalhost: Bool
    /// Reads of what another node holds.
    let remote: BatchRemote
    let now: @Sendable () -> Int64

    /// The largest file taken (and so the largest batch).
    static let maxFileBytes = 32 << 20
    /// Files one agent may keep at most.
    static let maxFilesPerAgent = 500

    func register(on router: Router<MeshRequestContext>) {
        router.post("/v1/files") { request, context in try await upload(request, context) }
        router.get("/v1/files") { request, context in
            let reader = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote)
            let files = try await batches.files(agent: reader.filter, limit: 10_000)
            return JSONResponse.make(["object": "list", "data": .array(files.map(Self.view)), "has_more": false])
        }
        router.get("/v1/files/{id}") { request, context in
            switch try await owned(request, context) {
            case .here(let file): return JSONResponse.make(Self.view(file))
            case .elsewhere(let read): return try await read(.json)
            }
        }
        router.get("/v1/files/{id}/content") { request, context in
            switch try await owned(request, context) {
            case .here(let file):
                let content = try await batches.content(of: file.id) ?? []
                return Response(status: .ok, headers: [.contentType: "application/jsonl"], body: .init(byteBuffer: ByteBuffer(bytes: content)))
            case .elsewhere(let read): return try await read(.jsonl)
            }
        }
        router.delete("/v1/files/{id}") { request, context in
            guard case .here(let file) = try await owned(request, context, peerRead: false) else {
                throw APIError.badRequest("a file is deleted on the node that holds it", code: "file_elsewhere")
            }
            try await batches.deleteFile(file.id)
            return JSONResponse.make(["id": .string(file.id), "object": "file", "deleted": true])
        }
    }

    private func upload(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let owner = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote).owner
        guard try await batches.files(agent: owner, limit: Self.maxFilesPerAgent).count < Self.maxFilesPerAgent else {
            throw APIError(status: .tooManyRequests, code: "too_many_files", message: "an agent keeps at most \(Self.maxFilesPerAgent) files; delete some")
        }
        var request = request
        let body = try await request.collectBody(upTo: Self.maxFileBytes + 64 << 10)
        let form = try MultipartForm(body: Array(body.readableBytesView), contentType: request.headers[.contentType])
        guard let purpose = form.part("purpose").map({ String(decoding: $0.content, as: UTF8.self) }) else { throw APIError.missingField("purpose") }
        guard purpose == "batch" else {
            throw APIError.badRequest("purpose must be \"batch\" (the only files this node keeps)", code: "invalid_purpose", param: "purpose")
        }
        guard let file = form.part("file") else { throw APIError.missingField("file") }
        guard !file.content.isEmpty else { throw APIError.badRequest("the file is empty", code: "empty_file", param: "file") }
        guard file.content.count <= Self.maxFileBytes else { throw APIError.bodyTooLarge(limit: Self.maxFileBytes) }
        let name = String((file.filename ?? "file.jsonl").unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(255))
        let record = BatchStore.File(
            id: remote.newID("file-"), agent: owner, purpose: purpose, filename: name, bytes: Int64(file.content.count), createdAt: now()
        )
        try await batches.addFile(record, content: Array(file.content))
        return JSONResponse.make(Self.view(record))
    }

    /// Where a file is: here (when the caller may see it), or on the node its id names.
    enum Place {
        case here(BatchStore.File)
        /// Read there, for this caller (the answer's content type as this API's own).
        case elsewhere(@Sendable (BatchRemote.Content) async throws -> Response)
    }

    /// The file `{id}` names, if the caller may see it; 404 otherwise (whose it is stays unsaid).
    private func owned(_ request: Request, _ context: MeshRequestContext, peerRead: Bool = true) async throws -> Place {
        let reader = try await BatchReader.of(request, context, audience: audience, openLocalhost: openLocalhost, remote: remote, peerRead: peerRead)
        let id = try context.parameters.require("id")
        // A peer's read is answered from what is here (never sent on again).
        if let node = remote.remoteNode(of: id, prefix: "file-"), !BatchRemote.isPeerRead(request) {
            let path = request.uri.path
            return .elsewhere { content in try await remote.fetch(path, from: node, reader: reader, content: content) }
        }
        guard let file = try await batches.file(id), reader.sees(file.agent) else {
            throw APIError.notFound("no file \(id)", code: "file_not_found")
        }
        return .here(file)
    }

    /// OpenAI's File object (times in seconds).
    static func view(_ file: BatchStore.File) -> JSONValue {
        [
            "id": .string(file.id), "object": "file", "bytes": .int(file.bytes), "created_at": .int(file.createdAt / 1000),
            "filename": .string(file.filename), "purpose": .string(file.purpose), "status": "processed", "expires_at": .null, "status_details": .null,
        ]
    }

}
