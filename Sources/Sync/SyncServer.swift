import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore

/// The sync endpoints a node serves to its peers, all authenticated with the mesh secret:
///
/// - `POST /sync/pull` — body `{"vector": {origin: seq}}`; answers a frame of the changes the
///   caller lacks (its own and relayed ones), in bounded batches.
/// - `POST /sync/push` — body: a frame; applied when its `base` is already held here, else 409.
/// - `POST /sync/poke` — "I have news": this node pulls from the caller at once.
/// - `GET /sync/snapshot` — a compressed snapshot for a new or long-absent peer.
struct SyncServer: Sendable {
    let store: MeshStore
    let verifier: SignatureVerifier?
    let config: MeshConfig
    let metrics: SyncMetrics
    let events: any SyncEvents
    let logger: Logger

    static let frameContentType = "application/x-dagi-sync"

    func register(on router: Router<MeshRequestContext>) {
        let group = router.group("sync")
        group.post("pull") { request, context in try await pull(request, context) }
        group.post("push") { request, context in try await push(request, context) }
        group.post("poke") { request, context in try await poke(request, context) }
        group.get("snapshot") { request, context in try await snapshot(request, context) }
    }

    /// Collects the body (bounded) and checks the signature; returns the caller's node id.
    private func authenticate(_ request: Request, limit: Int) async throws -> (node: String, body: [UInt8]) {
        guard let verifier else {
            metrics.refused.increment()
            throw APIError(status: .forbidden, code: "sync_disabled", message: "mesh sync is not configured on this node (no mesh secret)")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            metrics.refused.increment()
            throw APIError(status: .contentTooLarge, code: "body_too_large", message: "sync request body over \(limit) bytes")
        }
        let body = Array(buffer.readableBytesView)
        do {
            let node = try verifier.verify(
                method: request.method.rawValue, path: request.uri.path, body: body,
                header: { name in request.headers[HTTPField.Name(name)!] }, now: store.clock.wallMilliseconds()
            )
            return (node, body)
        } catch {
            // `verify` throws only SignatureFailure (typed throws).
            metrics.refused.increment()
            logger.warning("refused sync request: \(error.rawValue)", metadata: ["path": "\(request.uri.path)"])
            throw APIError(status: .unauthorized, code: "invalid_signature", message: error.rawValue)
        }
    }

    private func pull(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let (node, body) = try await authenticate(request, limit: 1 << 20)
        let document: JSONValue
        do { document = try JSONValue.parse(body) } catch {
            metrics.refused.increment()
            throw APIError.badRequest("pull body is not JSON: \(error)", code: "invalid_json")
        }
        guard let raw = document["vector"]?.objectValue else {
            metrics.refused.increment()
            throw APIError.badRequest("pull body needs a \"vector\" object", code: "missing_field", param: "vector")
        }
        var vector: [String: Int64] = [:]
        for (origin, value) in raw.prefix(10_000) {
            guard let seq = value.intValue, seq >= 0 else { throw APIError.badRequest("vector values must be sequence numbers", code: "invalid_vector") }
            vector[origin] = seq
        }
        let limit = min(config.batchSize, Int(document["limit"]?.intValue ?? Int64(config.batchSize)))
        await events.peerHolds(node: node, vector: vector)
        let batch = try await store.changes(
            since: vector, limit: max(1, limit), byteBudget: Int(config.maxInflated.bytes) / 2,
            snapshotThreshold: config.snapshotThreshold
        )
        let frame = SyncFrame(
            kind: .changes, hasMore: batch.hasMore, snapshotRequired: batch.snapshotRequired, base: vector,
            vector: batch.vector, changes: batch.changes
        )
        return try respond(frame)
    }

    private func push(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let (node, body) = try await authenticate(request, limit: Int(config.maxFrame.bytes) + SyncFrame.headerSize)
        let frame: SyncFrame
        do {
            frame = try SyncFrame.decode(body, maxFrame: Int(config.maxFrame.bytes), maxInflated: Int(config.maxInflated.bytes))
        } catch {
            metrics.refused.increment()
            logger.warning("refused pushed frame from \(node): \(error)")
            switch error.reason {
            case .tooLarge: throw APIError(status: .contentTooLarge, code: "frame_too_large", message: error.description)
            case .malformed: throw APIError.badRequest(error.description, code: "invalid_frame")
            case .incompatible: throw APIError(status: .unprocessableContent, code: "incompatible_frame", message: error.description)
            }
        }
        guard frame.kind == .changes else { throw APIError.badRequest("only change frames can be pushed", code: "invalid_frame") }
        metrics.received(frame, wireBytes: body.count, rawBytes: SyncFrame.declaredInflatedSize(body))
        let held = try await store.versionVector()
        let origins = Set(frame.changes.map(\.origin))
        if let gap = origins.first(where: { (held[$0] ?? 0) < (frame.base[$0] ?? 0) }) {
            metrics.refused.increment()
            throw APIError(
                status: .conflict, code: "out_of_order",
                message: "this node holds \(gap) up to \(held[gap] ?? 0), the push starts after \(frame.base[gap] ?? 0); pull instead",
                details: ["vector": .object(held.mapValues { .int($0) })]
            )
        }
        let result: ApplyResult
        do {
            result = try await store.apply(frame.changes)
        } catch let error as StoreError {
            metrics.refused.increment()
            throw APIError.badRequest(error.message, code: "invalid_change")
        }
        metrics.changesApplied.increment(by: Int64(result.applied))
        let after = try await store.versionVector()
        await events.peerHolds(node: node, vector: frame.vector)
        return JSONResponse.make([
            "applied": .int(Int64(result.applied)), "duplicates": .int(Int64(result.duplicates)),
            "vector": .object(after.mapValues { .int($0) }),
        ])
    }

    private func poke(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let (node, _) = try await authenticate(request, limit: 4096)
        await events.poked(by: node)
        return Response(status: .accepted, headers: [HTTPField.Name(RequestSigner.nodeHeader)!: store.nodeID])
    }

    private func snapshot(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let (node, _) = try await authenticate(request, limit: 0)
        let snapshot = try await store.snapshot()
        let frame = SyncFrame(
            kind: .snapshot, vector: snapshot.vector,
            changes: snapshot.rows.map { Change(origin: $0.origin, originSeq: 0, hlc: $0.hlc, table: $0.table, payload: $0.payload) }
        )
        metrics.snapshotsServed.increment()
        logger.info("serving a snapshot", metadata: ["peer": "\(node)", "rows": "\(snapshot.rows.count)"])
        return try respond(frame)
    }

    private func respond(_ frame: SyncFrame) throws -> Response {
        let (bytes, sizes) = try frame.encoded()
        guard sizes.raw <= config.maxInflated.bytes else {
            throw APIError(status: .init(code: 507), code: "frame_too_large", message: "the answer exceeds max_inflated; raise mesh.max_inflated on both nodes")
        }
        metrics.sent(frame, sizes: sizes)
        return Response(
            status: .ok,
            headers: [.contentType: Self.frameContentType, HTTPField.Name(RequestSigner.nodeHeader)!: store.nodeID],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
