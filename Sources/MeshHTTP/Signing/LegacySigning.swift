import Crypto
import Foundation

// TEMPORARY: the v1 signer, until Sync and the router move to MeshSigner/MeshVerifier. Delete with the last user.
/// Signs and verifies node-to-node HTTP requests with HMAC-SHA256.
///
/// The signature covers the method, the path (with query), a millisecond timestamp, the
/// sender's node id and the SHA-256 of the body, so none of them can be altered in flight. A
/// verifier accepts a timestamp only within the clock-skew window and each signature only once
/// while it is inside that window, so a captured request cannot be replayed.
public struct RequestSigner: Sendable {
    public static let nodeHeader = "x-dagi-node"
    public static let timestampHeader = "x-dagi-timestamp"
    public static let signatureHeader = "x-dagi-signature"

    let secret: MeshSecret
    public let nodeID: String

    public init(secret: MeshSecret, nodeID: String) {
        self.secret = secret
        self.nodeID = nodeID
    }

    /// The headers to send with a request.
    public func headers(method: String, path: String, body: some Collection<UInt8>, now: Int64) -> [(String, String)] {
        let timestamp = String(now)
        return [
            (Self.nodeHeader, nodeID),
            (Self.timestampHeader, timestamp),
            (Self.signatureHeader, "v1=" + signature(method: method, path: path, timestamp: timestamp, node: nodeID, body: body)),
        ]
    }

    func signature(method: String, path: String, timestamp: String, node: String, body: some Collection<UInt8>) -> String {
        let bodyHash = SHA256.hash(data: Array(body)).hexString
        let message = "v1\n\(method.uppercased())\n\(path)\n\(timestamp)\n\(node)\n\(bodyHash)"
        return Data(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: secret.key)).hexString
    }
}

/// Verifies signed requests, remembering recent signatures to refuse replays.
public final class SignatureVerifier: Sendable {
    let signer: RequestSigner
    let skewMs: Int64
    private let seen: BoundedExpiringSet

    public init(secret: MeshSecret, nodeID: String, skewMs: Int64 = 300_000, replayCapacity: Int = 100_000) {
        signer = RequestSigner(secret: secret, nodeID: nodeID)
        self.skewMs = skewMs
        seen = BoundedExpiringSet(capacity: replayCapacity)
    }

    /// Returns the sender's node id, or throws why the request is refused.
    public func verify(
        method: String, path: String, body: some Collection<UInt8>, header: (String) -> String?, now: Int64
    ) throws(SignatureFailure) -> String {
        guard let node = header(RequestSigner.nodeHeader), let timestamp = header(RequestSigner.timestampHeader),
              let signature = header(RequestSigner.signatureHeader)
        else { throw .missing }
        guard let sent = Int64(timestamp), signature.hasPrefix("v1="), signature.count == 67 else { throw .malformed }
        guard abs(now - sent) <= skewMs else { throw .skewed }
        let expected = signer.signature(method: method, path: path, timestamp: timestamp, node: node, body: body)
        guard constantTimeEqual(Array(expected.utf8), Array(signature.utf8.dropFirst(3))) else { throw .invalid }
        // Remember it until it would be refused as skewed anyway.
        guard seen.insert(signature, expiresAt: sent + skewMs, now: now) else { throw .replayed }
        return node
    }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

import Synchronization

/// A set of strings, each forgotten after its expiry, never holding more than `capacity`
/// (the soonest-expiring go first when full).
final class BoundedExpiringSet: Sendable {
    private struct State {
        var expiries: [String: Int64] = [:]
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Inserts `key`; false when it is already present and unexpired.
    func insert(_ key: String, expiresAt: Int64, now: Int64) -> Bool {
        state.withLock { state in
            if let expiry = state.expiries[key], expiry >= now { return false }
            if state.expiries.count >= capacity {
                state.expiries = state.expiries.filter { $0.value >= now }
                if state.expiries.count >= capacity, let soonest = state.expiries.min(by: { $0.value < $1.value }) {
                    state.expiries.removeValue(forKey: soonest.key)
                }
            }
            state.expiries[key] = expiresAt
            return true
        }
    }
}

