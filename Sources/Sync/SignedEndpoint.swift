import HTTPTypes
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore

/// How every sync endpoint authenticates a request and answers it, in the order that keeps a
/// forged request cheap:
///
/// 1. Without a mesh secret the node does not sync: 403.
/// 2. The signature headers are checked before a byte of the body is read (well-formed, for
///    this node and this run, inside `mesh.clock_skew`): a request that fails is answered 401
///    unsigned — there is nothing yet to bind a signed answer to — and its body is never
///    buffered. A request signed for an earlier run or another node is told who answers here
///    (`x-dagi-node`, `x-dagi-boot`), so a restarted peer's sender can sign again.
/// 3. The declared length, then the body, up to the endpoint's limit (413 beyond).
/// 4. The signature over method, target (path and query) and body; the nonce is consumed.
/// 5. The handler runs.
///
/// From step 3 on, every answer — success or error — is signed over its status and body for
/// the requester's nonce, so the requester can tell this node's answer from a forgery.
struct SignedEndpoint: Sendable {
    let verifier: MeshVerifier?
    let clock: HybridLogicalClock
    let metrics: SyncMetrics
    let log: SyncLog

    /// An authenticated request.
    struct Caller: Sendable {
        /// The sender's node id, as signed.
        let node: String
        let body: [UInt8]
    }

    /// What a handler answers; signed on the way out.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var contentType: String?
        var body: [UInt8]
        var headers: HTTPFields = [:]

        static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Answer {
            Answer(status: status, contentType: "application/json", body: value.serialized())
        }
    }

    func handle(
        _ request: Request, _ context: MeshRequestContext, bodyLimit: Int, _ handler: (Caller) async throws -> Answer
    ) async throws -> Response {
        guard let verifier else {
            metrics.refused.increment()
            throw APIError(status: .forbidden, code: "sync_disabled", message: "mesh sync is not configured on this node (no mesh secret)")
        }
        let header: (String) -> String? = { name in HTTPField.Name(name).flatMap { request.headers[$0] } }
        let pending: MeshVerifier.PendingRequest
        do {
            pending = try verifier.precheck(header: header, now: clock.wallMilliseconds())
        } catch {
            throw refusal(error, path: request.uri.path, hint: error == .staleBoot || error == .wrongRecipient ? verifier.identity : nil)
        }
        var answer: Answer
        do {
            var request = request
            if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > bodyLimit {
                throw tooLarge(bodyLimit)
            }
            let body: [UInt8]
            do {
                body = Array(try await request.collectBody(upTo: bodyLimit).readableBytesView)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw tooLarge(bodyLimit)
            }
            let node: String
            do {
                node = try verifier.verify(pending, method: request.method.rawValue, target: request.uri.string, body: body, now: clock.wallMilliseconds())
            } catch {
                throw refusal(error, path: request.uri.path, hint: nil)
            }
            answer = try await handler(Caller(node: node, body: body))
        } catch let error as APIError {
            answer = Answer(status: error.status, contentType: "application/json", body: error.body(requestID: context.requestID), headers: error.headers)
        } catch {
            // Signed like any answer, so the peer sees this node failed rather than a forgery.
            context.logger.error("sync request failed: \(error)")
            let failure = APIError(status: .internalServerError, code: "internal_error", message: "internal error")
            answer = Answer(status: failure.status, contentType: "application/json", body: failure.body(requestID: context.requestID))
        }
        var headers = answer.headers
        if let contentType = answer.contentType { headers[.contentType] = contentType }
        for (name, value) in verifier.signResponse(status: Int(answer.status.code), to: pending, body: answer.body, now: clock.wallMilliseconds()) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    private func tooLarge(_ limit: Int) -> APIError {
        metrics.refused.increment()
        return APIError(status: .contentTooLarge, code: "body_too_large", message: "sync request body over \(limit) bytes")
    }

    /// A 401 for a request whose signature failed; `hint` names this node and run.
    private func refusal(_ failure: SignatureFailure, path: String, hint: PeerIdentity?) -> APIError {
        metrics.refused.increment()
        log.warning(.request, "refused a sync request: \(failure.rawValue)", metadata: ["path": .string(String(path.prefix(64)))])
        var headers: HTTPFields = [:]
        if let hint, let node = HTTPField.Name(MeshSignature.nodeHeader), let boot = HTTPField.Name(MeshSignature.bootHeader) {
            headers[node] = hint.nodeID
            headers[boot] = hint.boot
        }
        return APIError(status: .unauthorized, code: failure.code, message: failure.rawValue, headers: headers)
    }
}
