import Crypto
import MeshCore

/// The mesh's signature scheme, shared by every node-to-node exchange (sync and forwarded
/// requests, both directions).
///
/// A request carries
///
/// | header              | value                                                        |
/// |---------------------|--------------------------------------------------------------|
/// | `x-dagi-node`       | the sender's node id                                         |
/// | `x-dagi-to`         | `NODE/BOOT`: the recipient's node id and the boot it is in   |
/// | `x-dagi-timestamp`  | the sender's wall clock, milliseconds since 1970             |
/// | `x-dagi-nonce`      | 32 hex digits, random per request                            |
/// | `x-dagi-signature`  | `v2=` and the HMAC-SHA256 (hex) of the canonical message      |
///
/// and its canonical message covers the method, the path *with its query*, the timestamp, the
/// nonce, sender, recipient and boot, the SHA-256 of the body, and the named headers a hop
/// routes on (`x-dagi-agent`, `x-dagi-model`, and a batch's `x-dagi-priority`; a read of another
/// node's batch signs its `x-dagi-batch-reader` the same way), so none can be changed or moved to another
/// node. The recipient refuses a timestamp outside `mesh.clock_skew`, a nonce it has seen, and
/// a boot that is not its current one: a captured request works nowhere else, never twice, and
/// not after a restart (a new boot id each start).
///
/// An answer carries `x-dagi-node`, `x-dagi-boot`, `x-dagi-timestamp` and a signature over its
/// status, the request's nonce, responder, requester and timestamp, and the SHA-256 of its
/// body (`-` for a streamed body, whose integrity needs TLS): a node that does not hold the
/// secret cannot answer for a peer.
///
/// Every field is length-prefixed in the message, so no value can shift into another.
public enum MeshSignature {
    public static let nodeHeader = "x-dagi-node"
    public static let recipientHeader = "x-dagi-to"
    public static let bootHeader = "x-dagi-boot"
    public static let timestampHeader = "x-dagi-timestamp"
    public static let nonceHeader = "x-dagi-nonce"
    public static let signatureHeader = "x-dagi-signature"
    /// The hop's routing headers, always signed when present, in this order (`x-dagi-priority`
    /// only on a batch's request).
    public static let signedHopHeaders = ["x-dagi-agent", "x-dagi-model", "x-dagi-priority"]

    static let version = "v2"
    static let nonceLength = 32
    static let signatureLength = 3 + 64

    static func requestMessage(
        method: String, target: String, timestamp: String, nonce: String, sender: String, recipient: String,
        bodyHash: String, hopHeaders: [String]
    ) -> [UInt8] {
        canonical(["dagi-\(version)-request", method.uppercased(), target, timestamp, nonce, sender, recipient, bodyHash] + hopHeaders)
    }

    static func responseMessage(
        status: Int, requestNonce: String, responder: String, boot: String, requester: String, timestamp: String, bodyHash: String
    ) -> [UInt8] {
        canonical(["dagi-\(version)-response", String(status), requestNonce, responder, boot, requester, timestamp, bodyHash])
    }

    private static func canonical(_ fields: [String]) -> [UInt8] {
        var message: [UInt8] = []
        for field in fields {
            message.append(contentsOf: String(field.utf8.count).utf8)
            message.append(UInt8(ascii: ":"))
            message.append(contentsOf: field.utf8)
            message.append(0x0a)
        }
        return message
    }

    static func bodyHash(_ body: (some Collection<UInt8>)?) -> String {
        guard let body else { return "-" }
        return SHA256.hash(data: Array(body)).hexString
    }

    /// Parses a decimal millisecond timestamp without trusting its size: at most 16 digits, so
    /// every later subtraction fits in 64 bits.
    static func parseTimestamp(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 16, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    static func isHex(_ text: some StringProtocol, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Whether `sent` is within `skewMs` of `now` (both validated, non-negative, < 10^16).
    static func withinSkew(_ sent: Int64, now: Int64, skewMs: Int64) -> Bool {
        let (difference, overflow) = now.subtractingReportingOverflow(sent)
        guard !overflow else { return false }
        return difference.magnitude <= UInt64(max(0, skewMs))
    }
}

/// Why a signed request or answer was refused. Each is answered 401 with this code; none
/// says more than which check failed.
public enum SignatureFailure: String, Error, Sendable {
    case missing = "missing signature headers"
    case malformed = "malformed signature headers"
    case wrongRecipient = "signed for another node"
    case staleBoot = "signed for an earlier run of this node"
    case skewed = "timestamp outside the allowed clock skew"
    case invalid = "signature does not match"
    case replayed = "request already seen (replay)"
    case overloaded = "too many signed requests in the replay window"
    case unsignedAnswer = "the peer's answer is not signed by the mesh"

    /// The stable `code` in error bodies.
    public var code: String {
        switch self {
        case .staleBoot: return "stale_boot"
        case .overloaded: return "replay_cache_full"
        default: return "invalid_signature"
        }
    }
}
