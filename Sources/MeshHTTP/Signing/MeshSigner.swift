import Crypto
import MeshCore

/// A node's identity as a signed message's recipient: its id and the boot it is in.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var nodeID: String
    public var boot: String

    public init(nodeID: String, boot: String) {
        self.nodeID = nodeID
        self.boot = boot
    }

    /// `NODE/BOOT`, as in `x-dagi-to`.
    public var description: String { "\(nodeID)/\(boot)" }
}

/// Signs this node's requests to peers and its answers to them (see ``MeshSignature``).
public struct MeshSigner: Sendable {
    public let nodeID: String
    let key: SymmetricKey

    public init(secret: MeshSecret, nodeID: String) {
        self.key = secret.key
        self.nodeID = nodeID
    }

    /// A signed request's headers and its nonce (which the answer must echo in its signature).
    public struct SignedRequest: Sendable {
        public var headers: [(String, String)]
        public var nonce: String
    }

    /// Signs a request for `recipient`. `target` is the path with its query, exactly as sent;
    /// `hopHeaders` are the values of ``MeshSignature/signedHopHeaders`` (empty for sync).
    public func request(
        method: String, target: String, body: some Collection<UInt8>, recipient: PeerIdentity, hopHeaders: [String] = [], now: Int64
    ) -> SignedRequest {
        let timestamp = String(now)
        let nonce = Self.randomNonce()
        let message = MeshSignature.requestMessage(
            method: method, target: target, timestamp: timestamp, nonce: nonce, sender: nodeID, recipient: recipient.description,
            bodyHash: MeshSignature.bodyHash(body), hopHeaders: hopHeaders
        )
        return SignedRequest(
            headers: [
                (MeshSignature.nodeHeader, nodeID),
                (MeshSignature.recipientHeader, recipient.description),
                (MeshSignature.timestampHeader, timestamp),
                (MeshSignature.nonceHeader, nonce),
                (MeshSignature.signatureHeader, MeshSignature.version + "=" + mac(message)),
            ],
            nonce: nonce
        )
    }

    /// Signs an answer to a request with `requestNonce` from `requester`; `body` nil for a
    /// streamed answer.
    public func response(
        status: Int, requestNonce: String, requester: String, boot: String, body: (some Collection<UInt8>)?, now: Int64
    ) -> [(String, String)] {
        let timestamp = String(now)
        let message = MeshSignature.responseMessage(
            status: status, requestNonce: requestNonce, responder: nodeID, boot: boot, requester: requester, timestamp: timestamp,
            bodyHash: MeshSignature.bodyHash(body)
        )
        return [
            (MeshSignature.nodeHeader, nodeID),
            (MeshSignature.bootHeader, boot),
            (MeshSignature.timestampHeader, timestamp),
            (MeshSignature.signatureHeader, MeshSignature.version + "=" + mac(message)),
        ]
    }

    func mac(_ message: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: key).hexString
    }

    func isValid(_ signature: String, for message: [UInt8]) -> Bool {
        guard signature.hasPrefix(MeshSignature.version + "="), let code = Self.bytes(hex: signature.utf8.dropFirst(3)) else { return false }
        // The library's comparison is constant-time.
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: message, using: key)
    }

    static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let a: UInt64 = generator.next(), b: UInt64 = generator.next()
        return (withUnsafeBytes(of: a.bigEndian, Array.init) + withUnsafeBytes(of: b.bigEndian, Array.init)).hexString
    }

    /// Decodes lower- or upper-case hex; nil on anything else.
    static func bytes(hex: some Collection<UInt8>) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(hex.count / 2)
        var high: UInt8?
        for character in hex {
            let value: UInt8
            switch character {
            case 0x30...0x39: value = character - 0x30
            case 0x61...0x66: value = character - 0x61 + 10
            case 0x41...0x46: value = character - 0x41 + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return out
    }
}
