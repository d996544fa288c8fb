import MeshHTTP
import MeshStore
import Synchronization

/// The agents' API keys on this node, by SHA-256: held in memory so a request's key is checked
/// without touching SQLite, and re-read from the store when an unknown key shows up (at most
/// once a second), so a key made with `dagi keys create` works at once.
public final class AgentKeys: Sendable {
    public static let localAgent = "local"

    /// What an `Authorization` header says.
    enum Lookup: Equatable {
        case agent(String)
        /// A well-formed key this node does not know (yet).
        case unknown
        case missing
        case malformed
    }

    let store: MeshStore
    private let keys = Mutex<[String: String]>([:])
    private let lastReload = Mutex<ContinuousClock.Instant?>(nil)

    public init(store: MeshStore) { self.store = store }

    public func reload() async throws {
        let fresh = try await store.agentKeyHashes()
        keys.withLock { $0 = fresh }
    }

    /// Re-reads the keys unless that happened within the last second; true when it did.
    func reloadIfDue() async -> Bool {
        let due = lastReload.withLock { last in
            guard let previous = last, ContinuousClock.now - previous < .seconds(1) else {
                last = .now
                return true
            }
            return false
        }
        guard due else { return false }
        try? await reload()
        return true
    }

    func lookup(_ authorization: String?) -> Lookup {
        guard let authorization else { return .missing }
        guard let key = BearerToken.parse(authorization) else { return .malformed }
        return agent(forKey: key).map(Lookup.agent) ?? .unknown
    }

    /// The agent whose key this is, from memory.
    public func agent(forKey key: String) -> String? {
        let hash = Hashing.sha256Hex(key)
        return keys.withLock { $0[hash] }
    }
}
