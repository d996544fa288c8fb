import AsyncHTTPClient
import Foundation
import Logging
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTP1

/// Signed sync requests to peers, and the check of their signed answers.
///
/// Every request is signed for the node and boot that answers at the peer's address (from the
/// ``PeerDirectory``). Every answer is verified — signed by the mesh, by that node, over this
/// request's nonce, status and body — before anything in it is used: an answer that fails is
/// counted, logged at a bounded rate and thrown away, whatever it holds.
///
/// A refusal the peer could not sign (401 or 403: it could not authenticate our request) is an
/// error whose only effect is its hint: a peer that restarted names its new boot (`stale_boot`),
/// and the request is signed again for it, once.
struct SyncClient: Sendable {
    let http: HTTPClient
    /// Signs requests (its ``MeshVerifier/requestSigner``) and checks answers.
    let verifier: MeshVerifier
    let directory: PeerDirectory
    let config: MeshConfig
    let clock: HybridLogicalClock
    let metrics: SyncMetrics
    let log: SyncLog

    struct PeerError: Error, CustomStringConvertible {
        let description: String
        /// The peer refused a push as out of order; pull instead.
        var outOfOrder = false
    }

    /// A frame received, with who sent it and its size on the wire.
    struct Received {
        let frame: SyncFrame
        let node: PeerIdentity
        let wireBytes: Int
        let rawBytes: Int
    }

    /// A verified answer.
    struct Answer {
        let status: HTTPResponseStatus
        let body: [UInt8]
        let peer: PeerIdentity

        /// The `error.message` of a JSON error body (the answer is verified: it is the peer's).
        var errorMessage: String {
            let document = try? JSONValue.parse(body)
            return String((document?["error"]?["message"]?.stringValue ?? String(decoding: body.prefix(300), as: UTF8.self)).prefix(300))
        }
    }

    func pull(_ peer: String, vector: [String: Int64]) async throws -> Received {
        let body: JSONValue = ["vector": .object(vector.mapValues { .int($0) }), "limit": .int(Int64(config.batchSize))]
        let answer = try await exchange(
            peer, method: .POST, path: "/sync/pull", body: body.serialized(), contentType: "application/json", limit: frameLimit
        )
        return try receiveFrame(answer, peer: peer)
    }

    func snapshot(_ peer: String) async throws -> Received {
        let answer = try await exchange(peer, method: .GET, path: "/sync/snapshot", body: [], contentType: nil, limit: frameLimit, timeoutFactor: 6)
        return try receiveFrame(answer, peer: peer)
    }

    /// Pushes a frame; returns what the peer holds afterwards.
    func push(_ peer: String, frame bytes: [UInt8]) async throws -> [String: Int64] {
        let answer = try await exchange(peer, method: .POST, path: "/sync/push", body: bytes, contentType: SyncServer.frameContentType, limit: 4 << 20)
        guard answer.status == .ok else {
            throw PeerError(description: "push refused: \(answer.status.code) \(answer.errorMessage)", outOfOrder: answer.status == .conflict)
        }
        return Self.vector((try? JSONValue.parse(answer.body))?["vector"])
    }

    func poke(_ peer: String) async throws {
        let answer = try await exchange(
            peer, method: .POST, path: "/sync/poke", body: Array("{}".utf8), contentType: "application/json", limit: 64 << 10, timeoutFactor: 0.2
        )
        guard answer.status == .accepted else { throw PeerError(description: "poke refused: \(answer.status.code) \(answer.errorMessage)") }
    }

    private var frameLimit: Int { Int(config.maxFrame.bytes) + SyncFrame.headerSize }

    // MARK: The signed exchange

    /// Sends one signed request and returns its verified answer (body collected up to `limit`).
    private func exchange(
        _ peer: String, method: HTTPMethod, path: String, body: [UInt8], contentType: String?, limit: Int, timeoutFactor: Double = 1
    ) async throws -> Answer {
        let timeout = TimeAmount.milliseconds(max(500, Int64(Double(config.requestTimeout.milliseconds) * timeoutFactor)))
        var recipient = try await directory.identity(of: peer, timeout: config.requestTimeout.duration)
        // The signature covers the request target exactly as sent: with the peer URL's own path.
        let target = (URLComponents(string: peer)?.percentEncodedPath ?? "") + path
        for attempt in 0..<2 {
            let signed = verifier.requestSigner.request(
                method: method.rawValue, target: target, body: body, recipient: recipient, now: clock.wallMilliseconds()
            )
            var request = HTTPClientRequest(url: peer + path)
            request.method = method
            for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
            if let contentType { request.headers.add(name: "content-type", value: contentType) }
            if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await http.execute(request, timeout: timeout)
            let bytes: [UInt8]
            do {
                bytes = Array(try await response.body.collect(upTo: limit).readableBytesView)
            } catch {
                throw PeerError(description: "the answer from \(peer) exceeds \(limit) bytes")
            }
            let header: (String) -> String? = { response.headers.first(name: $0) }
            let now = clock.wallMilliseconds()
            do {
                let responder = try verifier.verifyResponse(
                    status: Int(response.status.code), requestNonce: signed.nonce, expected: recipient.nodeID, body: bytes, header: header, now: now
                )
                directory.learn(responder, at: peer)
                return Answer(status: response.status, body: bytes, peer: responder)
            } catch {
                if response.status == .unauthorized || response.status == .forbidden {
                    // The peer could not authenticate us, so it could not sign its refusal. A
                    // restarted peer (or another node now at that address) names itself: sign
                    // for it and try once more. Nothing else of the refusal is used.
                    if attempt == 0, response.status == .unauthorized, let hint = Self.hint(header), hint != recipient {
                        directory.learn(hint, at: peer)
                        recipient = hint
                        continue
                    }
                    directory.forget(peer)
                    throw PeerError(description: "the peer refused the request: \(response.status.code) \(Self.unsignedReason(bytes))")
                }
                metrics.answersRefused.increment()
                log.warning(.answer, "refused an answer from a peer: \(error.rawValue) (status \(response.status.code))", metadata: ["peer": .string(peer), "path": .string(path)])
                throw PeerError(description: "answer refused: \(error.rawValue) (status \(response.status.code))")
            }
        }
        throw PeerError(description: "the peer refused the request twice")
    }

    /// Who a `stale_boot` or wrong-recipient refusal says answers at the address.
    private static func hint(_ header: (String) -> String?) -> PeerIdentity? {
        guard let node = header(MeshSignature.nodeHeader), let boot = header(MeshSignature.bootHeader), MeshName.isValid(node),
              MeshName.isValid(boot)
        else { return nil }
        return PeerIdentity(nodeID: node, boot: boot)
    }

    /// An unsigned refusal's reason, for `dagi peers`: its code only, printable and short.
    private static func unsignedReason(_ body: [UInt8]) -> String {
        let code = (try? JSONValue.parse(body))?["error"]?["code"]?.stringValue ?? ""
        return MeshName.isValid(code) ? code : "(unsigned)"
    }

    private func receiveFrame(_ answer: Answer, peer: String) throws -> Received {
        guard answer.status == .ok else { throw PeerError(description: "\(answer.status.code) \(answer.errorMessage)") }
        do {
            let frame = try SyncFrame.decode(answer.body, maxFrame: Int(config.maxFrame.bytes), maxInflated: Int(config.maxInflated.bytes))
            return Received(frame: frame, node: answer.peer, wireBytes: answer.body.count, rawBytes: SyncFrame.declaredInflatedSize(answer.body))
        } catch {
            throw PeerError(description: "rejected frame from \(peer): \(error)")
        }
    }

    /// A version vector from a peer's JSON answer: valid origins, sequences in range, bounded.
    static func vector(_ value: JSONValue?) -> [String: Int64] {
        var vector: [String: Int64] = [:]
        for (origin, seq) in (value?.objectValue ?? [:]).prefix(SyncFrame.maxOrigins) {
            if MeshName.isValid(origin), let n = seq.intValue, (0...Change.maxSequence).contains(n) { vector[origin] = n }
        }
        return vector
    }
}

extension Dictionary where Key == String, Value == Int64 {
    /// The per-origin maximum of two version vectors.
    func merged(with other: [String: Int64]) -> [String: Int64] {
        merging(other, uniquingKeysWith: Swift.max)
    }
}
