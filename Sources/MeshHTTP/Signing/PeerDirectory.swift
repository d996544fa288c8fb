import AsyncHTTPClient
import MeshCore
import Synchronization

/// Who answers at each peer address: node id and current boot, the recipient of every signed
/// request sent there.
///
/// Learnt from a peer's signed answers, or asked of its open `/health` when unknown. Nothing
/// here is secret or trusted: a wrong entry only makes the peer refuse our request as meant for
/// another node or run (`stale_boot`), after which the caller learns the right one and retries.
/// Bounded: one entry per peer address the node talks to, at most `capacity`.
public final class PeerDirectory: Sendable {
    private let entries = Mutex<[String: PeerIdentity]>([:])
    let http: HTTPClient
    let capacity: Int

    public init(http: HTTPClient, capacity: Int = 4096) {
        self.http = http
        self.capacity = capacity
    }

    /// The identity last seen at `baseURL`, if any.
    public func cached(_ baseURL: String) -> PeerIdentity? { entries.withLock { $0[baseURL] } }

    /// Records who answered at `baseURL` (from a verified answer, or a `stale_boot` refusal).
    public func learn(_ identity: PeerIdentity, at baseURL: String) {
        guard MeshName.isValid(identity.nodeID), identity.boot.utf8.count <= MeshName.maxLength else { return }
        entries.withLock { entries in
            if entries[baseURL] == nil, entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[baseURL] = identity
        }
    }

    /// Forgets `baseURL` (its identity proved wrong).
    public func forget(_ baseURL: String) { _ = entries.withLock { $0.removeValue(forKey: baseURL) } }

    /// The identity at `baseURL`: cached, or asked of its `/health`.
    public func identity(of baseURL: String, timeout: Duration = .seconds(5)) async throws -> PeerIdentity {
        if let known = cached(baseURL) { return known }
        let health = try await JSONClient(baseURL: baseURL, http: http, timeout: timeout, limit: 64 << 10).get("/health")
        guard let node = health["node"]?.stringValue, let boot = health["boot"]?.stringValue, MeshName.isValid(node),
              boot.utf8.count <= MeshName.maxLength
        else {
            throw JSONClient.Failure(status: nil, description: "\(baseURL)/health does not name a DAGI node")
        }
        let identity = PeerIdentity(nodeID: node, boot: boot)
        learn(identity, at: baseURL)
        return identity
    }
}
