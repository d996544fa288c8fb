import AsyncHTTPClient
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore
import Prometheus

extension HTTPField.Name {
    static let dagiNode = HTTPField.Name("x-dagi-node")!
    static let dagiModel = HTTPField.Name("x-dagi-model")!
    static let dagiRoute = HTTPField.Name("x-dagi-route")!
    static let dagiHop = HTTPField.Name("x-dagi-hop")!
    static let dagiAgent = HTTPField.Name("x-dagi-agent")!
}

/// Routes one inference request: authenticates the agent, reads the three fields it routes on
/// (model, stream, the required input) without parsing the rest, ranks the candidates, and
/// tries them in order — failing over on a connection error, a timeout, a 5xx or a 429 before
/// the first byte — then relays the answer as bytes, streams included.
public final class RequestRouter: Sendable {
    let config: RouterConfig
    let store: MeshStore
    let catalog: ModelCatalog
    let health: HealthTracker
    let local: any LocalModelBackend
    let http: HTTPClient
    let signer: RequestSigner?
    let hopVerifier: SignatureVerifier?
    let authenticator: AgentAuthenticator
    let limiter = RateLimiter()
    let metrics: RouterMetrics
    let ledger: UsageLedger
    let agentSeen: @Sendable (String) -> Void
    let logger: Logger
    let upstreamPool = UpstreamPool()

    public init(
        config: RouterConfig, store: MeshStore, catalog: ModelCatalog, local: any LocalModelBackend, http: HTTPClient,
        secret: MeshSecret?, metricsRegistry: PrometheusCollectorRegistry, ledger: UsageLedger,
        agentSeen: @escaping @Sendable (String) -> Void, logger: Logger
    ) {
        self.config = config
        self.store = store
        self.catalog = catalog
        self.health = HealthTracker(cooldownAfter: config.cooldownAfter, cooldown: config.cooldown.duration)
        self.local = local
        self.http = http
        self.signer = secret.map { RequestSigner(secret: $0, nodeID: store.nodeID) }
        self.hopVerifier = secret.map { SignatureVerifier(secret: $0, nodeID: store.nodeID) }
        self.authenticator = AgentAuthenticator(store: store, openLocalhost: config.openLocalhost)
        self.metrics = RouterMetrics(registry: metricsRegistry)
        self.ledger = ledger
        self.agentSeen = agentSeen
        var logger = logger
        logger[metadataKey: "component"] = "router"
        self.logger = logger
    }

    /// Who is calling, and whether a peer forwarded the request.
    struct Caller {
        var agent: String
        /// Set for a hop: the physical model the forwarding node chose.
        var forcedModel: String?
        var isHop: Bool { forcedModel != nil }
    }

    // MARK: - Handling

    func handle(_ endpoint: Endpoint, _ request: Request, context: MeshRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Int(config.maxBody.bytes))
        } catch {
            throw APIError.bodyTooLarge(limit: Int(config.maxBody.bytes))
        }
        let caller = try await identify(request, body: body, context: context)
        let fields = try RequestFields.read(body)
        guard let model = fields.model, !model.isEmpty else { throw APIError.missingField("model") }
        guard fields.present.contains(endpoint.requiredField) || (endpoint == .ollamaEmbeddings && fields.present.contains("input")) else {
            throw APIError.missingField(endpoint.requiredField)
        }
        let stream = endpoint.canStream && (fields.stream ?? endpoint.streamsByDefault)
        // A request handed over by a failed fast-path attempt was already admitted and counted.
        if !caller.isHop, request.headers[.dagiSkip] == nil {
            try limiter.admit(caller.agent, rpm: catalog.current.agents[caller.agent]?.rpm)
            agentSeen(caller.agent)
        }
        let plan: [RankedCandidate]
        do {
            plan = try catalog.current.plan(model, agent: caller.isHop ? nil : caller.agent, forced: caller.forcedModel, localOnly: caller.isHop, health: health)
        } catch {
            throw Self.apiError(for: error)
        }

        let deadline = started + config.requestTimeout.duration
        var failures: [(Candidate, String)] = []
        // A fast-path attempt that already failed counts as the first try.
        if let skip = request.headers[.dagiSkip], let bar = skip.firstIndex(of: "|"),
           let tried = plan.first(where: { $0.candidate.key == skip[..<bar] })?.candidate
        {
            failures.append((tried, String(skip[skip.index(after: bar)...])))
        }
        for ranked in plan where !failures.contains(where: { $0.0.key == ranked.candidate.key }) {
            let candidate = ranked.candidate
            guard ContinuousClock.now < deadline, failures.count < config.maxAttempts else { break }
            if !failures.isEmpty { metrics.failovers.increment() }
            do {
                let attempt = try await send(endpoint, request, body: body, fields: fields, stream: stream, to: candidate, caller: caller, deadline: deadline, context: context)
                return respond(attempt, endpoint: endpoint, stream: stream, caller: caller, started: started, context: context)
            } catch let failure as AttemptFailure {
                failures.append((candidate, failure.reason))
                if health.failed(candidate.key, reason: failure.reason) { metrics.cooldowns.increment() }
                health.end(candidate.key)
                logger.warning("candidate failed", metadata: [
                    "request_id": "\(context.requestID)", "candidate": "\(candidate)", "reason": "\(failure.reason)",
                ])
            }
        }
        throw Self.exhausted(model, failures: failures, timedOut: ContinuousClock.now >= deadline)
    }

    /// The agent (or the forwarding peer) behind a request.
    private func identify(_ request: Request, body: ByteBuffer, context: MeshRequestContext) async throws -> Caller {
        guard request.headers[.dagiHop] != nil else {
            return Caller(agent: try await authenticator.authenticate(request, context: context))
        }
        guard let hopVerifier else {
            throw APIError(status: .forbidden, code: "hop_refused", message: "this node has no mesh secret and accepts no forwarded requests")
        }
        // The fast path verified it already (a signature is good once); it strips this header
        // from everything clients send.
        if request.headers[.dagiHopVerified] != nil, let model = request.headers[.dagiModel], !model.isEmpty {
            return Caller(agent: request.headers[.dagiAgent] ?? "unknown", forcedModel: model)
        }
        do {
            _ = try hopVerifier.verify(
                method: request.method.rawValue, path: request.uri.path, body: body.readableBytesView,
                header: { request.headers[HTTPField.Name($0)!] }, now: store.clock.wallMilliseconds()
            )
        } catch {
            throw APIError(status: .unauthorized, code: "invalid_signature", message: "forwarded request refused: \(error.rawValue)")
        }
        guard let model = request.headers[.dagiModel], !model.isEmpty else { throw APIError.missingField("x-dagi-model") }
        return Caller(agent: request.headers[.dagiAgent] ?? "unknown", forcedModel: model)
    }

    struct AttemptFailure: Error {
        let reason: String
    }

    /// An upstream that answered (status and headers in), ready to relay.
    struct Attempt {
        let candidate: Candidate
        let upstream: HTTPRelay.UpstreamResponse
        /// The answer is OpenAI-shaped and the request was Ollama's: translate.
        let translate: Bool
        let release: (@Sendable () -> Void)?
        let sent: ContinuousClock.Instant
    }

    private func send(
        _ endpoint: Endpoint, _ request: Request, body: ByteBuffer, fields: RequestFields, stream: Bool, to candidate: Candidate,
        caller: Caller, deadline: ContinuousClock.Instant, context: MeshRequestContext
    ) async throws -> Attempt {
        health.begin(candidate.key)
        let sent = ContinuousClock.now
        let remaining = min(deadline - sent, config.firstByteTimeout.duration)
        var url: String
        var outgoing = body
        var extraHeaders: [(String, String)] = [("x-request-id", context.requestID)]
        var release: (@Sendable () -> Void)?
        var translate = false
        switch candidate.place {
        case .swapper:
            let lease: LocalLease
            do {
                lease = try await local.acquire(candidate.model, timeout: remaining)
            } catch {
                throw AttemptFailure(reason: "\(error)")
            }
            release = lease.release
            url = lease.baseURL + endpoint.openAIPath
            if endpoint.isOllama {
                outgoing = try translatedRequest(endpoint, body: body, model: candidate.model, stream: stream)
                translate = true
            }
        case .ollama:
            url = candidate.baseURL + (endpoint.isOllama ? endpoint.path : endpoint.openAIPath)
            if fields.model != candidate.model { outgoing = fields.replacingModel(in: body, with: candidate.model) }
        case .remote:
            url = candidate.baseURL + endpoint.path
            guard let signer else { throw AttemptFailure(reason: "no mesh secret to sign a forwarded request") }
            extraHeaders += signer.headers(method: request.method.rawValue, path: endpoint.path, body: body.readableBytesView, now: store.clock.wallMilliseconds())
            extraHeaders += [("x-dagi-hop", "1"), ("x-dagi-agent", caller.agent), ("x-dagi-model", candidate.model)]
        }
        let upstream: HTTPRelay.UpstreamResponse
        do {
            upstream = try await HTTPRelay.send(
                client: http, url: url, method: request.method, headers: request.headers, extraHeaders: extraHeaders,
                body: outgoing, timeout: .nanoseconds(max(1_000_000, remaining.inNanoseconds))
            )
        } catch {
            release?()
            throw AttemptFailure(reason: Self.describe(error))
        }
        if upstream.status.code >= 500 || upstream.status == .tooManyRequests {
            let detail = (try? await HTTPRelay.collect(upstream, limit: 64 << 10)).map { Self.errorMessage(in: $0) } ?? ""
            release?()
            throw AttemptFailure(reason: "answered \(upstream.status.code)\(detail.isEmpty ? "" : ": \(detail)")")
        }
        return Attempt(candidate: candidate, upstream: upstream, translate: translate, release: release, sent: sent)
    }

    private func translatedRequest(_ endpoint: Endpoint, body: ByteBuffer, model: String, stream: Bool) throws -> ByteBuffer {
        let document: JSONValue
        do { document = try JSONValue.parse(body.readableBytesView) } catch {
            throw APIError.badRequest("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        let translated: JSONValue
        switch endpoint {
        case .ollamaEmbed, .ollamaEmbeddings: translated = OllamaTranslation.embedRequest(document, endpoint: endpoint, model: model)
        default: translated = try OllamaTranslation.chatRequest(document, endpoint: endpoint, model: model, stream: stream)
        }
        return ByteBuffer(bytes: translated.serialized())
    }

    // MARK: - Answering

    private func respond(
        _ attempt: Attempt, endpoint: Endpoint, stream: Bool, caller: Caller, started: ContinuousClock.Instant,
        context: MeshRequestContext
    ) -> Response {
        let candidate = attempt.candidate
        var headers = attempt.upstream.headers
        headers[.dagiNode] = candidate.node
        headers[.dagiModel] = candidate.model
        headers[.dagiRoute] = candidate.route
        headers[.requestID] = context.requestID
        let tap = RelayTap()
        let requestID = context.requestID
        let onEnd: @Sendable (Int, (any Error)?) async -> Void = { [self] _, error in
            finish(
                candidate: candidate, caller: caller, started: started, sent: attempt.sent, tap: tap,
                status: error == nil ? Int(attempt.upstream.status.code) : 502, error: error, requestID: requestID,
                release: attempt.release
            )
        }
        if attempt.translate, attempt.upstream.status == .ok {
            return translatedResponse(attempt, endpoint: endpoint, stream: stream, headers: headers, tap: tap, started: started, requestID: requestID, onEnd: onEnd)
        }
        let format = StreamFormat(contentType: attempt.upstream.headers[.contentType])
        let upstream = attempt.upstream
        if format == .whole, let length = upstream.contentLength, length <= 1 << 20 {
            // A small whole answer goes out in one write, still byte for byte.
            let body = ResponseBody(contentLength: length) { writer in
                do {
                    let whole = try await upstream.body.collect(upTo: length)
                    tap.observe(whole)
                    try await writer.write(whole)
                    await onEnd(whole.readableBytes, nil)
                } catch {
                    await onEnd(tap.bytes, error)
                    throw error
                }
                try await writer.finish(nil)
            }
            return Response(status: upstream.status, headers: headers, body: body)
        }
        let body = ResponseBody(contentLength: upstream.contentLength) { writer in
            var failure: (any Error)?
            do {
                for try await chunk in upstream.body {
                    tap.observe(chunk)
                    try await writer.write(chunk)
                }
            } catch {
                failure = error
            }
            if let failure, let trailer = format.errorTrailer("the model server failed mid-answer: \(Self.describe(failure))", requestID: requestID) {
                try? await writer.write(trailer)
            }
            await onEnd(tap.bytes, failure)
            try await writer.finish(nil)
        }
        var response = Response(status: upstream.status, headers: headers, body: body)
        if upstream.contentLength == nil { response.headers[HTTPField.Name.contentLength] = nil }
        return response
    }

    /// An OpenAI answer turned into Ollama's shape: NDJSON line by line for streams, one JSON
    /// document otherwise.
    private func translatedResponse(
        _ attempt: Attempt, endpoint: Endpoint, stream: Bool, headers: HTTPFields, tap: RelayTap, started: ContinuousClock.Instant,
        requestID: String, onEnd: @escaping @Sendable (Int, (any Error)?) async -> Void
    ) -> Response {
        var headers = headers
        headers[HTTPField.Name.contentLength] = nil
        let upstream = attempt.upstream
        let model = attempt.candidate.model
        if stream {
            headers[.contentType] = "application/x-ndjson"
            let translator = OllamaStreamTranslator(endpoint: endpoint, model: model, started: started)
            let body = ResponseBody { writer in
                var failure: (any Error)?
                do {
                    for try await chunk in upstream.body {
                        tap.observe(chunk)
                        let lines = try translator.feed(chunk)
                        if lines.readableBytes > 0 { try await writer.write(lines) }
                    }
                    try await writer.write(translator.finish())
                } catch {
                    failure = error
                    if let trailer = StreamFormat.ndjson.errorTrailer("the model server failed mid-answer: \(Self.describe(error))", requestID: requestID) {
                        try? await writer.write(trailer)
                    }
                }
                await onEnd(tap.bytes, failure)
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
        headers[.contentType] = "application/json"
        let body = ResponseBody { writer in
            var failure: (any Error)?
            do {
                let whole = try await upstream.body.collect(upTo: 256 << 20)
                tap.observe(whole)
                let document = try JSONValue.parse(whole.readableBytesView)
                let translated = endpoint == .ollamaEmbed || endpoint == .ollamaEmbeddings
                    ? OllamaTranslation.embedResponse(document, endpoint: endpoint, model: model, total: ContinuousClock.now - started)
                    : OllamaTranslation.chatResponse(document, endpoint: endpoint, model: model, total: ContinuousClock.now - started)
                try await writer.write(ByteBuffer(bytes: translated.serialized()))
            } catch {
                failure = error
                try? await writer.write(ByteBuffer(string: JSONValue.object(["error": .string("the model server's answer could not be read: \(error)")]).jsonString))
            }
            await onEnd(tap.bytes, failure)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Everything that happens when a relay ends, on either path: the lease, the health of the
    /// candidate, metrics, and the usage ledger (for requests that entered the mesh here).
    func finish(
        candidate: Candidate, caller: Caller, started: ContinuousClock.Instant, sent: ContinuousClock.Instant, tap: RelayTap,
        status: Int, error: (any Error)?, requestID: String, release: (@Sendable () -> Void)?
    ) {
        release?()
        let latency = ContinuousClock.now - started
        let firstByte = tap.firstByte.map { $0 - sent }
        if error == nil || tap.bytes > 0 {
            health.succeeded(candidate.key, latency: firstByte ?? latency)
        } else {
            health.failed(candidate.key, reason: error.map(Self.describe) ?? "failed")
        }
        health.end(candidate.key)
        let tokens = tap.tokens
        metrics.finished(
            model: candidate.model, route: candidate.route, status: status, latency: latency, firstByte: firstByte,
            tokensIn: tokens.prompt, tokensOut: tokens.completion
        )
        if !caller.isHop {
            ledger.record(
                agent: caller.agent, model: candidate.model, route: candidate.route, status: status, tokensIn: tokens.prompt,
                tokensOut: tokens.completion, latencyMs: latency.inMilliseconds,
                requestID: requestID
            )
        }
        if let error {
            logger.warning("relay ended early", metadata: ["request_id": "\(requestID)", "candidate": "\(candidate)", "error": "\(error)"])
        }
    }

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
        }
    }

    static func exhausted(_ model: String, failures: [(Candidate, String)], timedOut: Bool) -> APIError {
        let reasons = failures.map { "\($0.0.model)@\($0.0.node): \($0.1)" }.joined(separator: "; ")
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
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded: return "timed out"
            case .remoteConnectionClosed: return "connection closed by the model server"
            default: return "\(client)"
            }
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }

    static func errorMessage(in body: ByteBuffer) -> String {
        if let document = try? JSONValue.parse(body.readableBytesView) {
            if let message = document["error"]?["message"]?.stringValue ?? document["error"]?.stringValue { return String(message.prefix(300)) }
        }
        return String(String(buffer: body).prefix(200))
    }
}
