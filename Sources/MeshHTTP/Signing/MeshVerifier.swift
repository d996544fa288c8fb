import Crypto
import MeshCore

/// Checks signed requests from peers and signed answers to this node's requests (see
/// ``MeshSignature``).
///
/// A request is checked in two steps so a forged one costs no body: ``precheck(header:now:)``
/// reads only headers — well-formed, for this node and this boot, inside the clock skew — and
/// ``verify(_:method:target:body:hopHeaders:now:)`` then checks the signature over the body
/// and remembers the nonce.
public final class MeshVerifier: Sendable {
    let signer: MeshSigner
    public let skewMs: Int64
    /// This run's boot id: random per start, so requests signed for an earlier run are refused.
    public let boot: String
    private let replays: ReplayCache

    public var nodeID: String { signer.nodeID }
    public var identity: PeerIdentity { PeerIdentity(nodeID: signer.nodeID, boot: boot) }

    public init(secret: MeshSecret, nodeID: String, skewMs: Int64, boot: String = MeshVerifier.newBoot(), replayCapacity: Int = 1 << 20) {
        self.signer = MeshSigner(secret: secret, nodeID: nodeID)
        self.skewMs = max(1000, skewMs)
        self.boot = boot
        self.replays = ReplayCache(capacity: replayCapacity)
    }

    /// A request whose headers passed; its body is still to be checked.
    public struct PendingRequest: Sendable {
        public let sender: String
        public let nonce: String
        let timestamp: String
        let sent: Int64
        let recipient: String
        let signature: String
    }

    /// Checks what the headers alone can tell. `header` returns a request header by
    /// lower-case name.
    public func precheck(header: (String) -> String?, now: Int64) throws(SignatureFailure) -> PendingRequest {
        guard let sender = header(MeshSignature.nodeHeader), let recipient = header(MeshSignature.recipientHeader),
              let timestamp = header(MeshSignature.timestampHeader), let nonce = header(MeshSignature.nonceHeader),
              let signature = header(MeshSignature.signatureHeader)
        else { throw .missing }
        guard MeshName.isValid(sender), let sent = MeshSignature.parseTimestamp(timestamp),
              MeshSignature.isHex(nonce, count: MeshSignature.nonceLength), signature.utf8.count == MeshSignature.signatureLength,
              recipient.utf8.count <= MeshName.maxLength * 2 + 1
        else { throw .malformed }
        let parts = recipient.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, parts[0] == signer.nodeID else { throw .wrongRecipient }
        guard parts[1] == boot else { throw .staleBoot }
        guard MeshSignature.withinSkew(sent, now: now, skewMs: skewMs) else { throw .skewed }
        return PendingRequest(sender: sender, nonce: nonce, timestamp: timestamp, sent: sent, recipient: recipient, signature: signature)
    }

    /// Checks the signature over the whole request and consumes its nonce; returns the sender.
    public func verify(
        _ pending: PendingRequest, method: String, target: String, body: some Collection<UInt8>, hopHeaders: [String] = [], now: Int64
    ) throws(SignatureFailure) -> String {
        let message = MeshSignature.requestMessage(
            method: method, target: target, timestamp: pending.timestamp, nonce: pending.nonce, sender: pending.sender,
            recipient: pending.recipient, bodyHash: MeshSignature.bodyHash(body), hopHeaders: hopHeaders
        )
        guard signer.isValid(pending.signature, for: message) else { throw .invalid }
        // Remembered until it would be refused as skewed anyway.
        switch replays.insert(pending.nonce, expiresAt: pending.sent + skewMs, now: now) {
        case .inserted: return pending.sender
        case .seen: throw .replayed
        case .full: throw .overloaded
        }
    }

    /// Checks a peer's signed answer to a request with `requestNonce`; `body` nil for a
    /// streamed one. Returns the responder and its boot. `expected` is the node the request
    /// was for, when known.
    @discardableResult
    public func verifyResponse(
        status: Int, requestNonce: String, expected: String?, body: (some Collection<UInt8>)?, header: (String) -> String?, now: Int64
    ) throws(SignatureFailure) -> PeerIdentity {
        guard let responder = header(MeshSignature.nodeHeader), let boot = header(MeshSignature.bootHeader),
              let timestamp = header(MeshSignature.timestampHeader), let signature = header(MeshSignature.signatureHeader)
        else { throw .unsignedAnswer }
        guard MeshName.isValid(responder), boot.utf8.count <= MeshName.maxLength, let sent = MeshSignature.parseTimestamp(timestamp) else {
            throw .malformed
        }
        if let expected, expected != responder { throw .wrongRecipient }
        guard MeshSignature.withinSkew(sent, now: now, skewMs: skewMs) else { throw .skewed }
        let message = MeshSignature.responseMessage(
            status: status, requestNonce: requestNonce, responder: responder, boot: boot, requester: signer.nodeID,
            timestamp: timestamp, bodyHash: MeshSignature.bodyHash(body)
        )
        guard signer.isValid(signature, for: message) else { throw .invalid }
        return PeerIdentity(nodeID: responder, boot: boot)
    }

    /// Signs this node's answer to a verified request.
    public func signResponse(status: Int, to request: PendingRequest, body: (some Collection<UInt8>)?, now: Int64) -> [(String, String)] {
        signer.response(status: status, requestNonce: request.nonce, requester: request.sender, boot: boot, body: body, now: now)
    }

    /// The signer of this node's own requests.
    public var requestSigner: MeshSigner { signer }

    public static func newBoot() -> String { String(MeshSigner.randomNonce().prefix(16)) }
}
