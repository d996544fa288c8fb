import Hummingbird
import MeshStore
import MeshSupport
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
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
                throw Self.unauthorized("the Authorization header must be \"Bearer <key>\"")
            }
            let hash = Hashing.sha256Hex(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
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
