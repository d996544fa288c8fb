import DAGIRouter
import Hummingbird
import MeshHTTP

/// Who is calling the Files and Batches APIs: an agent by its key (its own files and batches),
/// or this node's operator (all of them; it creates nothing, having no agent). With
/// `router.open_localhost`, this machine without a valid key is the `local` agent, as on `/v1`.
enum BatchReader {
    case agent(String)
    /// This machine or the admin token.
    case operatorOrPeer

    ///
    /// - Parameter peerRead: the route is a read by id that another node may make for its
    ///   client (see ``BatchRemote``); everywhere else a peer's signature is refused.
    static func of(
        _ request: Request, _ context: MeshRequestContext, audience: Audience, openLocalhost: Bool, remote: BatchRemote, peerRead: Bool = false
    ) async throws -> BatchReader {
        if BatchRemote.isPeerRead(request) {
            guard peerRead, let reader = try remote.signedReader(request) else {
                throw APIError(status: .forbidden, code: "peer_not_allowed", message: "another node only reads a file or batch by its id here")
            }
            return reader
        }
        // An agent's key names the agent, from this machine too (where the operator reads all).
        if let token = request.headers[.authorization].flatMap(BearerToken.parse), let agent = await audience.agentForKey(token) { return .agent(agent) }
        if openLocalhost, context.isLocal(request) { return .agent(AgentKeys.localAgent) }
        // Not a peer's signature: peers never need an agent's prompts and answers.
        if audience.isAdmin(authorization: request.headers[.authorization], loopback: context.isLocal(request)) { return .operatorOrPeer }
        throw APIError(status: .unauthorized, code: "credentials_required", message: "files and batches need an agent's key", headers: [.wwwAuthenticate: "Bearer"])
    }

    /// The agent a new file or batch belongs to.
    var owner: String {
        get throws {
            guard case .agent(let agent) = self else {
                throw APIError(status: .forbidden, code: "agent_key_required", message: "files and batches are created with an agent's key (they run as that agent)")
            }
            return agent
        }
    }

    /// Whether it may see what `agent` owns.
    func sees(_ agent: String) -> Bool {
        if case .agent(let own) = self { return own == agent }
        return true
    }

    /// The agent to list for (nil: all).
    var filter: String? { if case .agent(let agent) = self { return agent } else { return nil } }
}
