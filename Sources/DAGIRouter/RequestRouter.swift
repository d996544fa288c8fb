import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore
import Prometheus
import Synchronization

/// Everything the router's pipeline shares across connections: configuration, the catalog of
/// where models run, candidate health, admission, the backends of each kind of place, the
/// upstream connection pools, metrics and the usage ledger.
///
/// Requests are taken by each connection's ``InferenceHandler`` and carried by an ``Exchange``;
/// this type holds what they read and the bookkeeping at their end.
public final class RequestRouter: Sendable {
    let config: RouterConfig
    /// Which compatibility APIs this node serves, and how.
    public let compat: CompatConfig
    let serverLimits: ServerLimits
    let store: MeshStore
    let catalog: ModelCatalog
    let health: HealthTracker
    public let keys: AgentKeys
    let admission: Admission
    let verifier: MeshVerifier?
    let directory: PeerDirectory
    let metrics: RouterMetrics
    let ledger: UsageLedger
    let budgets: BudgetBook
    /// Kept answers to deterministic requests (nil: `cache.enabled: false`), and the identical
    /// requests in flight.
    let cache: ResponseCache?
    let flights = Flights()
    /// How this node's batch runner calls this router.
    public let batchCaller = BatchCaller()
    let upstreamPool: UpstreamPool
    let connections: ConnectionGate
    let agentSeen: @Sendable (String) -> Void
    let logger: Logger
    let now: @Sendable () -> Int64
    private let swapper: SwapperPlace
    private let ollama = OllamaPlace()
    private let peers: PeerPlace
    private let providers: ProviderPlace
    private let refusals: RateLimitedLog<RefusalKind>

    public init(
        config: RouterConfig, serverLimits: ServerLimits, store: MeshStore, catalog: ModelCatalog, keys: AgentKeys, audience: Audience,
        local: any LocalModelBackend, verifier: MeshVerifier?, directory: PeerDirectory, meshCA: String?,
        metricsRegistry: PrometheusCollectorRegistry, ledger: UsageLedger, agentSeen: @escaping @Sendable (String) -> Void, logger: Logger,
        compat: CompatConfig = CompatConfig(), internalSecret: InternalSecret? = nil, budgets: BudgetsConfig = BudgetsConfig(),
        cache: ResponseCache? = nil
    ) throws {
        self.cache = cache
        self.config = config
        self.compat = compat
        self.serverLimits = serverLimits
        self.store = store
        self.catalog = catalog
        self.health = HealthTracker(cooldownAfter: config.cooldownAfter, cooldown: config.cooldown.duration)
        self.keys = keys
        let clock = store.clock
        self.now = { clock.wallMilliseconds() }
        self.verifier = verifier
        self.directory = directory
        self.admission = Admission(
            keys: keys, catalog: catalog, verifier: verifier, limiter: RateLimiter(partitionShare: config.partitionShare), openLocalhost: config.openLocalhost,
            audience: audience, compat: compat, internalSecret: internalSecret, cache: cache?.config, batchCaller: batchCaller, now: now
        )
        self.metrics = RouterMetrics(registry: metricsRegistry)
        self.ledger = ledger
        self.upstreamPool = UpstreamPool(tls: try UpstreamTLS(meshCA: meshCA))
        self.connections = ConnectionGate(limit: serverLimits.maxConnections)
        self.agentSeen = agentSeen
        var logger = logger
        logger[metadataKey: "component"] = "router"
        self.logger = logger
        self.budgets = BudgetBook(config: budgets, partitionShare: config.partitionShare, logger: logger)
        self.refusals = RateLimitedLog(logger: logger, interval: .seconds(10))
        self.swapper = SwapperPlace(local: local)
        self.peers = PeerPlace(signer: verifier?.requestSigner, directory: directory, clock: now)
        self.providers = ProviderPlace(cloud: catalog.cloud)
    }

    var maxBody: Int { Int(config.maxBody.bytes) }

    /// The handlers the router adds to each connection's pipeline (Hummingbird's
    /// `additionalChannelHandlers`).
    public func channelHandlers() -> [any RemovableChannelHandler] { [InferenceHandler(router: self)] }

    /// Loads what the first request needs: the catalog and the agents' keys.
    public func prepare() async throws {
        try await catalog.refresh()
        try await catalog.refreshLoads()
        try await keys.reload()
        // This node's own spend of the day and month so far (peers' comes with their rows).
        let now = self.now()
        let (day, month) = UTCPeriods.dayAndMonthStart(now)
        budgets.ownSpent(try await store.spendByAgent(dayStart: day, monthStart: month, own: true), now: now)
    }

    /// Re-reads the keys and the agents (a key or an agent added by `dagi` in another process, a
    /// deletion replicated from a peer), at most once a second however many requests ask.
    func refreshCredentials() async {
        guard await keys.reloadIfDue() else { return }
        try? await catalog.refresh()
    }

    /// The agent behind a request to one of the router's own documents (`/v1/models`,
    /// `/api/tags`): the same key check as inference requests, without a body.
    func authenticate(_ head: HTTPRequest, loopback: Bool) async throws -> String {
        guard case .agent(let agent) = try await documentCaller({ admission.head(head, loopback: loopback, keysReloaded: $0) }) else {
            throw Admission.unauthorized("the API key is not valid for any agent of this node")
        }
        return agent
    }

    /// The caller of one of the router's documents by `check`, its API's head admission (given
    /// whether the keys were just re-read): an unknown key has the keys re-read once.
    func documentCaller(_ check: (_ keysReloaded: Bool) -> Admission.HeadVerdict) async throws -> Admission.Pending {
        var verdict = check(false)
        if case .unknownKey = verdict {
            await refreshCredentials()
            verdict = check(true)
        }
        switch verdict {
        case .admitted(let caller): return caller
        case .refused(let error): throw error
        case .unknownKey: throw Admission.unauthorized("the API key is not valid for any agent of this node")
        }
    }

    func backend(for candidate: Candidate) -> any Backend {
        switch candidate.place {
        case .swapper: return swapper
        case .ollama: return ollama
        case .remote: return peers
        case .provider: return providers
        }
    }

    /// The ranked candidates for an admitted request (a hop: only this node's, for the model the
    /// forwarding node chose).
    func plan(_ request: InferenceRequest) throws -> [RankedCandidate] {
        let caller = request.caller
        do {
            if case .operator = caller {
                return try catalog.current.plan(request.requestedModel, agent: nil, localOnly: true, swapperOnly: true, health: health)
            }
            var plan = try catalog.current.plan(
                request.requestedModel, agent: caller.isHop ? nil : caller.agent, forced: caller.forcedModel, localOnly: caller.isHop, health: health
            )
            if request.batch {
                // Batches wait for the mesh's own models, where work costs nothing.
                plan.removeAll { $0.candidate.isCloud }
                guard !plan.isEmpty else { throw PlanError.cloudNotAllowed(request.requestedModel, agent: caller.agent) }
                if let node = request.preferredNode {
                    plan = plan.filter { $0.candidate.node == node } + plan.filter { $0.candidate.node != node }
                }
            }
            return try withinBudget(plan, request: request)
        } catch let error as PlanError {
            throw Self.apiError(for: error)
        }
    }

    /// The nodes whose own models can serve `model` for `agent` now, this node first if it is
    /// one of them (for the batch runner to spread requests over).
    public func meshNodes(serving model: String, agent: String) -> [String] {
        let snapshot = catalog.current
        guard let plan = try? snapshot.plan(model, agent: agent, health: health) else { return [] }
        var nodes: [String] = []
        // Not one cooling down after failures (it would be tried first, and fail again).
        for entry in plan where !entry.candidate.isCloud && !entry.coolingDown && !nodes.contains(entry.candidate.node) { nodes.append(entry.candidate.node) }
        if let local = nodes.firstIndex(of: snapshot.localNode), local > 0 { nodes.insert(nodes.remove(at: local), at: 0) }
        return nodes
    }

    /// What the router refuses and logs at a bounded rate.
    enum RefusalKind: Hashable, Sendable { case credentials, connection, slowRequest }

    /// Logs a refusal (a bad key, a forged signature, a full connection table) at a bounded rate.
    func logRefusal(_ kind: RefusalKind, _ message: @autoclosure () -> String) { refusals.warning(kind, message()) }

    // MARK: - Errors

    static func apiError(for error: PlanError) -> APIError {
        switch error {
        case .unknownModel(let name, let suggestions):
            return APIError(
                status: .notFound, code: "model_not_found",
                message: "The model `\(name)` does not exist in this mesh" + (suggestions.isEmpty ? "." : "; did you mean \(suggestions.map { "`\($0)`" }.joined(separator: ", "))?"),
                param: "model", details: ["suggestions": .array(suggestions.map(JSONValue.string))]
            )
        case .notAllowed(let name, let agent, let allowed):
            return APIError(
                status: .forbidden, code: "model_not_allowed",
                message: "agent \(agent) may not use `\(name)` (allowed: \(allowed.joined(separator: ", ")))", param: "model"
            )
        case .unavailable(let name):
            return APIError(status: .serviceUnavailable, code: "no_candidates", message: "no node can serve `\(name)` right now (its nodes are offline)", param: "model")
        case .cloudNotAllowed(let name, let agent):
            return APIError(
                status: .serviceUnavailable, code: "cloud_not_allowed",
                message: "no mesh model can serve `\(name)` right now, and agent \(agent) may not use cloud models (allow_cloud: false)", param: "model"
            )
        case .providersResting(let name, let until):
            let seconds = max(1, Int((until - .now).inSeconds.rounded(.up)))
            return APIError(
                status: .tooManyRequests, code: "providers_rate_limited",
                message: "every provider that serves `\(name)` asked to wait; retry in \(seconds)s", param: "model",
                headers: [.retryAfter: String(seconds)]
            )
        }
    }

    /// Every candidate failed; `withheld` names the cloud models the agent may not use.
    static func exhausted(_ model: String, failures: [(Candidate, String)], timedOut: Bool, withheld: (agent: String, models: [String])? = nil) -> APIError {
        var reasons = failures.map { "\($0.0.model)@\($0.0.node): \($0.1)" }.joined(separator: "; ")
        if let withheld, !withheld.models.isEmpty {
            reasons += "; cloud models not tried (\(withheld.models.joined(separator: ", "))): agent \(withheld.agent) has allow_cloud: false"
        }
        let details: [JSONValue] = failures.map { candidate, reason in
            ["node": .string(candidate.node), "model": .string(candidate.model), "route": .string(candidate.route), "reason": .string(reason)]
        }
        return APIError(
            status: timedOut && failures.isEmpty ? .gatewayTimeout : .serviceUnavailable,
            code: timedOut ? "deadline_exceeded" : "all_candidates_failed",
            message: "every candidate for `\(model)` failed\(timedOut ? " or the deadline passed" : ""): \(reasons.isEmpty ? "none tried" : reasons)",
            headers: [.retryAfter: "1"], details: ["candidates": .array(details)]
        )
    }

    static func describe(_ error: any Error) -> String {
        if let channel = error as? ChannelError {
            switch channel {
            case .connectTimeout: return "connection timed out"
            case .ioOnClosedChannel, .eof, .alreadyClosed: return "connection closed by the upstream"
            default: break
            }
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded: return "timed out"
            case .remoteConnectionClosed: return "connection closed by the model server"
            default: return "\(client)"
            }
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return String(text.prefix(300))
    }

    /// The human message in an upstream's error body (OpenAI's, Ollama's or Anthropic's shape).
    static func errorMessage(in body: ByteBuffer) -> String {
        if let document = try? JSONValue.parse(body.readableBytesView) {
            if let message = document["error"]?["message"]?.stringValue ?? document["error"]?.stringValue ?? document["message"]?.stringValue {
                return String(message.prefix(500))
            }
        }
        return String(String(buffer: body).prefix(200))
    }

    /// The machine-readable code in an upstream's error body, when it gives a sane one.
    static func errorCode(in body: ByteBuffer) -> String? {
        guard let document = try? JSONValue.parse(body.readableBytesView),
              let code = document["error"]?["code"]?.stringValue ?? document["error"]?["type"]?.stringValue ?? document["code"]?.stringValue,
              MeshName.isValid(code)
        else { return nil }
        return code
    }
}

/// Limits of the node's port, applied to every connection (`node:` in the config).
public struct ServerLimits: Sendable {
    public var maxConnections: Int
    /// A connection with no request in progress closes after this long.
    public var idleTimeout: Duration
    /// A request's head and body must arrive within this long.
    public var requestReadTimeout: Duration

    public init(maxConnections: Int = 1024, idleTimeout: Duration = .seconds(75), requestReadTimeout: Duration = .seconds(60)) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
    }
}

/// Counts open connections against a limit.
final class ConnectionGate: Sendable {
    private let counter = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection; false (and not counted) when the limit is reached.
    func open() -> Bool {
        while true {
            let current = counter.load(ordering: .relaxed)
            guard current < limit else { return false }
            if counter.compareExchange(expected: current, desired: current + 1, ordering: .relaxed).exchanged { return true }
        }
    }

    func close() { counter.subtract(1, ordering: .relaxed) }

    var count: Int { counter.load(ordering: .relaxed) }
}
