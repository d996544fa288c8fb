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
///
/// Each request goes through ``SignedEndpoint``: headers checked before the body is read, the
/// signature over the body, and every answer to an authenticated request signed back, errors
/// included.
struct SyncServer: Sendable {
    let store: MeshStore
    let endpoint: SignedEndpoint
    let config: MeshConfig
    let metrics: SyncMetrics
    let events: any SyncEvents
    let log: SyncLog
    let logger: Logger

    static let frameContentType = "application/x-dagi-sync"

    var limits: ReplicationLimits { ReplicationLimits(clockSkewMs: config.clockSkew.milliseconds) }

    func register(on router: Router<MeshRequestContext>) {
        let group = router.group("sync")
        group.post("pull") { request, context in try await endpoint.handle(request, context, bodyLimit: 1 << 20, pull) }
        group.post("push") { request, context in
            try await endpoint.handle(request, context, bodyLimit: Int(config.maxFrame.bytes) + SyncFrame.headerSize, push)
        }
        group.post("poke") { request, context in try await endpoint.handle(request, context, bodyLimit: 4096, poke) }
        group.get("snapshot") { request, context in try await endpoint.handle(request, context, bodyLimit: 0, snapshot) }
    }

    private func pull(_ caller: SignedEndpoint.Caller) async throws -> SignedEndpoint.Answer {
        let document: JSONValue
        do { document = try JSONValue.parse(caller.body) } catch {
            metrics.refused.increment()
            throw APIError.badRequest("pull body is not JSON: \(error)", code: "invalid_json")
        }
        guard let raw = document["vector"]?.objectValue else {
            metrics.refused.increment()
            throw APIError.badRequest("pull body needs a \"vector\" object", code: "missing_field", param: "vector")
        }
        var vector: [String: Int64] = [:]
        for (origin, value) in raw.prefix(SyncFrame.maxOrigins) {
            guard let seq = value.intValue, (0...Change.maxSequence).contains(seq) else {
                throw APIError.badRequest("vector values must be sequence numbers", code: "invalid_vector")
            }
            // An origin this node has never heard of matches nothing; keep the map to real ids.
            if MeshName.isValid(origin) { vector[origin] = seq }
        }
        let limit = min(config.batchSize, Int(clamping: document["limit"]?.intValue ?? Int64(config.batchSize)))
        await events.peerHolds(node: caller.node, vector: vector)
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

    private func push(_ caller: SignedEndpoint.Caller) async throws -> SignedEndpoint.Answer {
        let frame: SyncFrame
        do {
            frame = try SyncFrame.decode(caller.body, maxFrame: Int(config.maxFrame.bytes), maxInflated: Int(config.maxInflated.bytes))
        } catch {
            metrics.refused.increment()
            log.warning(.request, "refused a pushed frame: \(error)", metadata: ["peer": .string(caller.node)])
            switch error.reason {
            case .tooLarge: throw APIError(status: .contentTooLarge, code: "frame_too_large", message: error.description)
            case .malformed: throw APIError.badRequest(error.description, code: "invalid_frame")
            case .incompatible: throw APIError(status: .unprocessableContent, code: "incompatible_frame", message: error.description)
            }
        }
        guard frame.kind == .changes else { throw APIError.badRequest("only change frames can be pushed", code: "invalid_frame") }
        metrics.received(frame, wireBytes: caller.body.count, rawBytes: SyncFrame.declaredInflatedSize(caller.body))
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
        let result = try await store.apply(frame.changes, senderVector: frame.vector, limits: limits)
        metrics.applied(result)
        log.refusals(result, from: caller.node)
        let after = try await store.versionVector()
        await events.peerHolds(node: caller.node, vector: frame.vector)
        return .json([
            "applied": .int(Int64(result.applied)), "duplicates": .int(Int64(result.duplicates)),
            "refused": .int(Int64(result.refusedCount)), "vector": .object(after.mapValues { .int($0) }),
        ])
    }

    private func poke(_ caller: SignedEndpoint.Caller) async throws -> SignedEndpoint.Answer {
        await events.poked(by: caller.node)
        return SignedEndpoint.Answer(status: .accepted, contentType: nil, body: [])
    }

    private func snapshot(_ caller: SignedEndpoint.Caller) async throws -> SignedEndpoint.Answer {
        let snapshot = try await store.snapshot()
        let frame = SyncFrame(
            kind: .snapshot, vector: snapshot.vector,
            changes: snapshot.rows.map { Change(origin: $0.origin, originSeq: 0, hlc: $0.hlc, table: $0.table, payload: $0.payload) }
        )
        metrics.snapshotsServed.increment()
        logger.info("serving a snapshot", metadata: ["peer": "\(caller.node)", "rows": "\(snapshot.rows.count)"])
        return try respond(frame)
    }

    private func respond(_ frame: SyncFrame) throws -> SignedEndpoint.Answer {
        let (bytes, sizes) = try frame.encoded()
        guard sizes.raw <= config.maxInflated.bytes else {
            throw APIError(status: .init(code: 507), code: "frame_too_large", message: "the answer exceeds max_inflated; raise mesh.max_inflated on both nodes")
        }
        metrics.sent(frame, sizes: sizes)
        return SignedEndpoint.Answer(status: .ok, contentType: Self.frameContentType, body: bytes)
    }
}
