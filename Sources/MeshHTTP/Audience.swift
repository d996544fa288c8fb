import Crypto
import HTTPTypes
import Hummingbird
import MeshCore

/// Who may call which of the node's own endpoints — one check, used by every API:
///
/// - **open**: `/health`, for load balancers and peers learning who answers.
/// - **information** (`/v1/node`, `/v1/nodes`, `/v1/agents`, `/metrics`): this machine, an agent's
///   key, a mesh signature, or the admin token — or everyone with `node.public_info: true`.
/// - **administration** (`/swapper/*`, agent edits, `/v1/routes`): this machine or the admin
///   token (`node.admin_token_env`).
///
/// Loopback means the TCP peer's address, never a header.
public struct Audience: Sendable {
    /// SHA-256 of the admin token, when one is configured.
    let adminTokenDigest: SHA256.Digest?
    let publicInfo: Bool
    /// The live agent whose key a bearer token is (the router's key table).
    public let agentForKey: @Sendable (String) async -> String?
    let verifier: MeshVerifier?
    let now: @Sendable () -> Int64

    public init(
        adminToken: String?, publicInfo: Bool, verifier: MeshVerifier?, now: @escaping @Sendable () -> Int64,
        agentForKey: @escaping @Sendable (String) async -> String?
    ) {
        self.adminTokenDigest = adminToken.map { SHA256.hash(data: Array($0.utf8)) }
        self.publicInfo = publicInfo
        self.verifier = verifier
        self.now = now
        self.agentForKey = agentForKey
    }

    /// Refuses (403, or 401 for a wrong credential) unless the caller may administer the node.
    public func requireAdmin(_ request: Request, _ context: MeshRequestContext) throws {
        guard isAdmin(authorization: request.headers[.authorization], loopback: context.isLocal(request)) else {
            throw adminRequired(authorization: request.headers[.authorization])
        }
    }

    /// Whether a caller may administer the node: this machine, or the admin token.
    public func isAdmin(authorization: String?, loopback: Bool) -> Bool {
        loopback || hasAdminToken(authorization)
    }

    /// The refusal of an administration request (403 without credentials, 401 with wrong ones).
    public func adminRequired(authorization: String?) -> APIError {
        APIError(
            status: authorization == nil ? .forbidden : .unauthorized, code: "admin_required",
            message: "this endpoint answers the node itself, or a caller with the admin token (node.admin_token_env)"
        )
    }

    /// Who may read the node's information, as far as the reading is concerned.
    public enum Reader: Sendable, Equatable {
        /// This machine, the admin token, or a peer: everything.
        case operatorOrPeer
        /// An agent by its key: what concerns that agent.
        case agent(String)
        /// Anyone (`node.public_info`).
        case anyone
    }

    /// Refuses unless the caller may read the node's information; says who reads.
    @discardableResult
    public func requireInfo(_ request: Request, _ context: MeshRequestContext) async throws -> Reader {
        if context.isLocal(request) || hasAdminToken(request.headers[.authorization]) { return .operatorOrPeer }
        if let token = request.headers[.authorization].flatMap(BearerToken.parse), let agent = await agentForKey(token) { return .agent(agent) }
        if let verifier, request.headers[HTTPField.Name(MeshSignature.signatureHeader)!] != nil {
            let now = self.now()
            do {
                let pending = try verifier.precheck(header: { request.headers[HTTPField.Name($0)!] }, now: now)
                _ = try verifier.verify(pending, method: request.method.rawValue, target: request.uri.description, body: [UInt8](), now: now)
                return .operatorOrPeer
            } catch {
                throw APIError(status: .unauthorized, code: error.code, message: "signed request refused: \(error.rawValue)")
            }
        }
        if publicInfo { return .anyone }
        throw APIError(
            status: .unauthorized, code: "credentials_required",
            message: "node information is served to this machine, an agent key, a mesh signature or the admin token (or set node.public_info)",
            headers: [.wwwAuthenticate: "Bearer"]
        )
    }

    private func hasAdminToken(_ authorization: String?) -> Bool {
        guard let adminTokenDigest, let token = authorization.flatMap(BearerToken.parse) else { return false }
        // Digests of equal length, compared without an early exit.
        let given = SHA256.hash(data: Array(token.utf8))
        return zip(given, adminTokenDigest).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
