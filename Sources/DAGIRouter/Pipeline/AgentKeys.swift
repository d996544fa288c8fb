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
        guard let key = Self.bearerKey(authorization) else { return .malformed }
        let hash = Hashing.sha256Hex(key)
        return keys.withLock { $0[hash] }.map(Lookup.agent) ?? .unknown
    }

    /// The key of a `Bearer <key>` header (scheme case-insensitive, spaces trimmed).
    static func bearerKey(_ header: String) -> String? {
        let utf8 = header.utf8
        guard utf8.count > 7, utf8.count <= 4096 else { return nil }
        let scheme = utf8.prefix(7).map { $0 | 0x20 }
        guard scheme.elementsEqual("bearer ".utf8) else { return nil }
        let key = utf8.dropFirst(7).drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed()
        return key.isEmpty ? nil : String(decoding: key, as: UTF8.self)
    }
}
