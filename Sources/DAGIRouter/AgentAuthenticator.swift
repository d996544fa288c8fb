import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import Synchronization

/// Turns a request into the agent it acts for.
///
/// Agents present `Authorization: Bearer <key>`; the key's SHA-256 is looked up among this
/// node's key hashes (held in memory, re-read from the store when an unknown key shows up, at
/// most once a second, so a key added with `dagi keys create` works at once). Without a key,
/// a call from 127.0.0.1 acts as agent `local` only when `open_localhost` is on.
public final class AgentAuthenticator: Sendable {
    public static let localAgent = "local"

    let store: MeshStore
    let openLocalhost: Bool
    private let keys = Mutex<[String: String]>([:])
    private let lastReload = Mutex<ContinuousClock.Instant?>(nil)

    public init(store: MeshStore, openLocalhost: Bool) {
        self.store = store
        self.openLocalhost = openLocalhost
    }

    public func reload() async throws {
        let fresh = try await store.agentKeyHashes()
        keys.withLock { $0 = fresh }
        lastReload.withLock { $0 = .now }
    }

    /// The agent, or a 401.
    func authenticate(_ request: Request, context: MeshRequestContext) async throws -> String {
        if let header = request.headers[.authorization] {
            guard let key = Self.bearerKey(header) else {
                throw Self.unauthorized("the Authorization header must be \"Bearer <key>\"")
            }
            let hash = Hashing.sha256Hex(key)
            if let agent = keys.withLock({ $0[hash] }) { return agent }
            if reloadAllowed() {
                try? await reload()
                if let agent = keys.withLock({ $0[hash] }) { return agent }
            }
            // With open localhost, a local caller sending some placeholder key (the openai client
            // insists on one) is still the local agent.
            if openLocalhost, context.isLoopback { return Self.localAgent }
            throw Self.unauthorized("the API key is not valid for any agent of this node")
        }
        if openLocalhost, context.isLoopback { return Self.localAgent }
        throw Self.unauthorized("an API key is required (Authorization: Bearer <key>); create one with `dagi keys create AGENT`")
    }

    /// The agent, decided from memory alone (no reload, no error): nil sends the request the
    /// regular way, which reloads keys and explains refusals.
    func authenticateNow(_ authorization: String?, isLoopback: Bool) -> String? {
        if let header = authorization {
            guard let key = Self.bearerKey(header) else { return nil }
            let hash = Hashing.sha256Hex(key)
            if let agent = keys.withLock({ $0[hash] }) { return agent }
            return openLocalhost && isLoopback ? Self.localAgent : nil
        }
        return openLocalhost && isLoopback ? Self.localAgent : nil
    }

    /// The key of a `Bearer <key>` header (scheme case-insensitive, spaces trimmed).
    static func bearerKey(_ header: String) -> String? {
        let utf8 = header.utf8
        guard utf8.count > 7 else { return nil }
        let scheme = utf8.prefix(7).map { $0 | 0x20 }
        guard scheme.elementsEqual("bearer ".utf8) else { return nil }
        let key = utf8.dropFirst(7).drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed()
        return key.isEmpty ? nil : String(decoding: key, as: UTF8.self)
    }

    private func reloadAllowed() -> Bool {
        lastReload.withLock { last in
            guard let previous = last, ContinuousClock.now - previous < .seconds(1) else {
                last = .now
                return true
            }
            return false
        }
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, code: "invalid_api_key", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }
}

import Foundation
