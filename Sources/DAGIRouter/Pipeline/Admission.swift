import HTTPTypes
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore

/// The one admission step of every inference request, in two halves:
///
/// - ``head(_:loopback:keysReloaded:)`` decides from the headers alone who is calling — an
///   agent by its key, or a peer whose signature headers pass the cheap checks — so a request
///   without a valid key is refused before its body is read;
/// - ``body(_:endpoint:head:body:requestID:started:)`` then checks what needs the body (a
///   hop's signature over it, the fields and their ranges) and the agent's rate limit.
///
/// The verdict travels in the ``InferenceRequest``; nothing downstream reads a header to learn
/// who is calling.
struct Admission: Sendable {
    let keys: AgentKeys
    let catalog: ModelCatalog
    let verifier: MeshVerifier?
    let limiter: RateLimiter
    let openLocalhost: Bool
    let audience: Audience
    let compat: CompatConfig
    let internalSecret: InternalSecret?
    /// The response cache's settings (nil: no cache).
    let cache: CacheConfig?
    /// This node's batch runner.
    let batchCaller: BatchCaller
    let now: @Sendable () -> Int64

    /// A caller known from the headers, its body still to be read.
    enum Pending: Sendable {
        case agent(String)
        case hop(MeshVerifier.PendingRequest, agent: String, model: String)
        case `operator`
        /// A compatibility API's caller that showed the internal secret: its agent is named in
        /// the body (or a header), read once the body is in.
        case service
        /// This node's batch runner, running a request of `agent`'s batch, preferably on `node`.
        case batch(agent: String, node: String?)
    }

    enum HeadVerdict {
        case admitted(Pending)
        /// A key (or its agent) this node does not hold in memory: re-read them, then decide again.
        case unknownKey
        case refused(APIError)
    }

    func head(_ head: HTTPRequest, loopback: Bool, keysReloaded: Bool, swapperDirect: Bool = false) -> HeadVerdict {
        if swapperDirect {
            let authorization = head.headerFields[.authorization]
            return audience.isAdmin(authorization: authorization, loopback: loopback) ? .admitted(.operator) : .refused(audience.adminRequired(authorization: authorization))
        }
        if head.headerFields[.dagiHop] != nil { return hop(head) }
        if let token = head.headerFields[.dagiBatch] { return batch(head, token: token) }
        return agentKey(head, loopback: loopback, keysReloaded: keysReloaded)
    }

    /// A compatibility API's caller: the internal secret (a service, naming its agent in the
    /// body), else an agent key. Peers never forward to these paths (they forward the OpenAI
    /// request a compatibility request stands for), and the LLM proxy never took unauthenticated
    /// calls, open_localhost or not.
    func compatHead(_ head: HTTPRequest, api: CompatAPI, loopback: Bool, keysReloaded: Bool) -> HeadVerdict {
        if let given = head.headerFields[InternalSecret.header] {
            // Whether this node has a secret at all is not the caller's to learn.
            guard let internalSecret, internalSecret.matches(given) else {
                return .refused(Self.unauthorized("the X-Internal-Secret is not valid", code: "invalid_internal_secret"))
            }
            return .admitted(.service)
        }
        if head.headerFields[.authorization] != nil || head.headerFields[.xAPIKey] != nil {
            return agentKey(head, loopback: false, keysReloaded: keysReloaded)
        }
        // The provider service took calls without credentials: from this machine, with
        // open_localhost, they are the `local` agent's, as on /v1 (not any agent they name).
        if api == .providerService, openLocalhost, loopback { return .admitted(.agent(AgentKeys.localAgent)) }
        return .refused(Self.unauthorized("the X-Internal-Secret header (or an agent's API key) is required", code: "missing_internal_secret"))
    }

    /// A caller known by its agent's key.
    private func agentKey(_ head: HTTPRequest, loopback: Bool, keysReloaded: Bool) -> HeadVerdict {
        // Anthropic's SDKs send the key as `x-api-key`; it is the same key.
        let authorization = head.headerFields[.authorization] ?? head.headerFields[.xAPIKey].map { "Bearer " + $0 }
        switch keys.lookup(authorization) {
        case .agent(let agent):
            // A deleted agent's key is revoked everywhere as soon as the deletion replicates. An
            // agent this node has not seen yet (just created by `dagi` in another process) is
            // looked up once more before the verdict.
            guard catalog.current.agents[agent] != nil else {
                return keysReloaded ? .refused(Self.unauthorized("the agent of this key does not exist (deleted?)")) : .unknownKey
            }
            return .admitted(.agent(agent))
        case .unknown:
            if !keysReloaded { return .unknownKey }
            // The openai client insists on some key: a placeholder from this machine is the
            // local agent when open_localhost is on.
            if openLocalhost, loopback { return .admitted(.agent(AgentKeys.localAgent)) }
            return .refused(Self.unauthorized("the API key is not valid for any agent of this node"))
        case .malformed:
            return .refused(Self.unauthorized("the Authorization header must be \"Bearer <key>\""))
        case .missing:
            if openLocalhost, loopback { return .admitted(.agent(AgentKeys.localAgent)) }
            return .refused(Self.unauthorized("an API key is required (Authorization: Bearer <key>); create one with `dagi keys create AGENT`"))
        }
    }

    /// The batch runner: its token, for an agent that exists.
    private func batch(_ head: HTTPRequest, token: String) -> HeadVerdict {
        guard batchCaller.secret.matches(token) else {
            return .refused(Self.unauthorized("the batch token is not valid", code: "invalid_batch_token"))
        }
        guard let agent = head.headerFields[.dagiBatchAgent], MeshName.isValid(agent), catalog.current.agents[agent] != nil else {
            return .refused(Self.unauthorized("the batch's agent does not exist (deleted?)"))
        }
        let node = head.headerFields[.dagiBatchNode].flatMap { MeshName.isValid($0) ? $0 : nil }
        return .admitted(.batch(agent: agent, node: node))
    }

    private func hop(_ head: HTTPRequest) -> HeadVerdict {
        guard let verifier else {
            return .refused(APIError(status: .forbidden, code: "hop_refused", message: "this node has no mesh secret and accepts no forwarded requests"))
        }
        let pending: MeshVerifier.PendingRequest
        do {
            pending = try verifier.precheck(header: { head.headerFields[HTTPField.Name($0)!] }, now: now())
        } catch {
            var refusal = APIError(status: .unauthorized, code: error.code, message: "forwarded request refused: \(error.rawValue)")
            if error == .staleBoot { refusal.headers[HTTPField.Name(MeshSignature.bootHeader)!] = verifier.boot }
            return .refused(refusal)
        }
        guard let agent = head.headerFields[HTTPField.Name(HopHeader.agent)!], MeshName.isValid(agent),
              let model = head.headerFields[HTTPField.Name(HopHeader.model)!], !model.isEmpty, model.utf8.count <= RequestFields.maxModelLength
        else {
            return .refused(.badRequest("a forwarded request names its agent and model", code: "invalid_hop"))
        }
        return .admitted(.hop(pending, agent: agent, model: model))
    }

    /// Completes admission once the body is in. Throws ``APIError``, or ``AgentToCreate`` when a
    /// compatibility caller names an agent `auto_agents` is to create.
    ///
    /// A compatibility API's request (`compat`) becomes the OpenAI chat request it stands for.
    func body(
        _ pending: Pending, endpoint: Endpoint, compat: CompatRoute? = nil, head: HTTPRequest, body: ByteBuffer, requestID: String,
        started: ContinuousClock.Instant
    ) throws -> InferenceRequest {
        var body = body
        var named: String?
        var call: CompatCall?
        // A batch's request forwarded from the node that holds the batch.
        var hopLow = false
        if let compat {
            let request = try CompatRequest.read(body, route: compat, head: head, config: self.compat, localNode: catalog.current.localNode)
            body = request.body
            named = request.agentID
            call = CompatCall(api: compat.api, model: request.model)
        }
        let caller: Caller
        switch pending {
        case .agent(let agent), .batch(let agent, _):
            caller = .agent(agent)
        case .service:
            caller = .agent(try compatAgent(named))
        case .operator:
            caller = .operator
        case .hop(let signature, let agent, let model):
            guard let verifier else { throw APIError(status: .forbidden, code: "hop_refused", message: "no mesh secret") }
            // A batch's request names its priority; the signature covers it (taken away or added, it fails).
            let priority = head.headerFields[.dagiPriority]
            guard priority == nil || priority == HopHeader.lowPriority else {
                throw APIError.badRequest("a forwarded request's priority is low or absent", code: "invalid_hop")
            }
            hopLow = priority != nil
            do {
                let sender = try verifier.verify(
                    signature, method: head.method.rawValue, target: head.path ?? "", body: body.readableBytesView,
                    hopHeaders: [agent, model] + (priority.map { [$0] } ?? []), now: now()
                )
                caller = .hop(from: sender, agent: agent, model: model, signature: signature)
            } catch {
                throw APIError(status: .unauthorized, code: error.code, message: "forwarded request refused: \(error.rawValue)")
            }
        }
        let fields = try RequestFields.read(body)
        guard let model = fields.model, !model.isEmpty else { throw APIError.missingField("model") }
        guard fields.present.contains(endpoint.requiredField) || (endpoint == .ollamaEmbeddings && fields.present.contains("input")) else {
            throw APIError.missingField(endpoint.requiredField)
        }
        // Hops were counted where they entered the mesh.
        var rateLimit: HTTPFields?
        var countsTokens = false
        let snapshot = catalog.current
        let callPolicy = snapshot.policies[caller.agent] ?? CallPolicy()
        if case .agent(let agent) = caller {
            let policy = snapshot.agents[agent]
            rateLimit = try limiter.admit(agent, limits: .init(rpm: policy?.rpm, tpm: policy?.tpm), partitioned: snapshot.partitioned, now: now())
            countsTokens = policy?.tpm != nil
        }
        let connection = head.headerFields[.connection]?.lowercased()
        // A batch's requests wait behind the rest, stay on the mesh, and go where the runner spreads them.
        var batch = false
        var preferredNode: String?
        if case .batch(_, let node) = pending {
            batch = true
            preferredNode = node
        }
        let stream = endpoint.canStream && (fields.stream ?? endpoint.streamsByDefault)
        // Agents' requests only: a hop was looked up where it entered the mesh.
        var directive: CacheDirective?
        if case .agent(let agent) = caller, let cache {
            let routing = cache.shared ? CacheDirective.routing(of: snapshot.agents[agent], priority: callPolicy.priority ?? .normal) : ""
            directive = CacheDirective.of(
                endpoint: endpoint, compat: call, head: head, body: body, fields: fields, stream: stream, agent: (agent, routing),
                minIntervalMs: callPolicy.minIntervalMs, config: cache
            )
        }
        return InferenceRequest(
            endpoint: endpoint, head: head, body: body, fields: fields, caller: caller, requestID: requestID, started: started,
            stream: stream, keepAlive: connection != "close", compat: call, rateLimitHeaders: rateLimit, countsTokens: countsTokens, cache: directive,
            priority: batch || hopLow ? .low : callPolicy.priority ?? .normal, promptCache: callPolicy.promptCache, batch: batch,
            preferredNode: preferredNode
        )
    }

    /// A compatibility caller's agent: the one it names (`agent:sofia` is `sofia`), else the
    /// configured default; unknown ones are created when `auto_agents` is on, refused otherwise.
    private func compatAgent(_ id: String?) throws -> String {
        guard let name = CompatAgentID.name(id ?? compat.defaultAgent) else {
            throw APIError.badRequest("the agent id must be letters, digits, '.', '-' or '_' (optionally after \"agent:\")", code: "invalid_agent", param: "metadata.agent_id")
        }
        if catalog.current.agents[name] != nil { return name }
        guard compat.autoAgents else {
            throw APIError(
                status: .forbidden, code: "unknown_agent",
                message: "agent \(name) does not exist; create it (`dagi keys create \(name)`) or set compat.auto_agents: true"
            )
        }
        throw AgentToCreate(name: name)
    }

    /// A compatibility caller named an agent that `auto_agents` creates before the request goes on.
    struct AgentToCreate: Error {
        let name: String
    }

    static func unauthorized(_ message: String, code: String = "invalid_api_key") -> APIError {
        APIError(status: .unauthorized, code: code, message: message, headers: [.wwwAuthenticate: "Bearer"])
    }
}

extension HTTPField.Name {
    static let dagiHop = HTTPField.Name(HopHeader.hop)!
    static let dagiPriority = HTTPField.Name(HopHeader.priority)!
    static let dagiNode = HTTPField.Name("x-dagi-node")!
    static let dagiModel = HTTPField.Name("x-dagi-model")!
    static let dagiRoute = HTTPField.Name("x-dagi-route")!
    static let dagiCost = HTTPField.Name("x-dagi-cost-usd")!
    static let xAPIKey = HTTPField.Name("x-api-key")!
}
