import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTP1

/// What the fast path may do with a request.
enum FastDecision {
    /// Relay it now.
    case relay(FastAttempt)
    /// Give it to the regular path (with whether a forwarded request's signature was already
    /// verified, since a signature is good once).
    case regular(verifiedHop: Bool)
}

extension RequestRouter {
    var maxBody: Int { Int(config.maxBody.bytes) }

    /// The OpenAI inference endpoint a request is for, if the fast path may take it.
    func fastEndpoint(_ head: HTTPRequest) -> Endpoint? {
        guard head.method == .post, let path = head.path else { return nil }
        switch path.split(separator: "?", maxSplits: 1).first {
        case "/v1/chat/completions": return .chatCompletions
        case "/v1/completions": return .completions
        case "/v1/embeddings": return .embeddings
        default: return nil
        }
    }

    /// Decides a request synchronously if everything it needs is at hand — the agent's key in
    /// memory, valid fields, a first candidate that is loaded here, on Ollama or on a peer, the
    /// rate limit — and otherwise leaves it to the regular path. Side effects (the lease, the
    /// rate-limit token, presence) happen only when the answer is `.relay`.
    func fastDecision(_ endpoint: Endpoint, head: HTTPRequest, body: ByteBuffer, remote: SocketAddress?, requestID: String) -> FastDecision {
        let caller: Caller
        if head.headerFields[.dagiHop] != nil {
            guard let hopVerifier, let model = head.headerFields[.dagiModel], !model.isEmpty else { return .regular(verifiedHop: false) }
            do {
                _ = try hopVerifier.verify(
                    method: "POST", path: endpoint.path, body: body.readableBytesView,
                    header: { head.headerFields[HTTPField.Name($0)!] }, now: store.clock.wallMilliseconds()
                )
            } catch {
                return .regular(verifiedHop: false)
            }
            caller = Caller(agent: head.headerFields[.dagiAgent] ?? "unknown", forcedModel: model)
        } else {
            guard let agent = authenticator.authenticateNow(head.headerFields[.authorization], isLoopback: remote?.isLoopback ?? false) else {
                return .regular(verifiedHop: false)
            }
            caller = Caller(agent: agent)
        }
        let regular = FastDecision.regular(verifiedHop: caller.isHop)
        guard let fields = try? RequestFields.read(body), let model = fields.model, !model.isEmpty,
              fields.present.contains(endpoint.requiredField)
        else { return regular }
        let snapshot = catalog.current
        guard let plan = try? snapshot.plan(model, agent: caller.isHop ? nil : caller.agent, forced: caller.forcedModel, localOnly: caller.isHop, health: health),
              let first = plan.first, !first.coolingDown
        else { return regular }
        let candidate = first.candidate
        var release: (@Sendable () -> Void)?
        var base = candidate.baseURL
        var path = endpoint.openAIPath
        var upstreamBody = body
        var extra: [(String, String)] = [("x-request-id", requestID)]
        switch candidate.place {
        case .swapper:
            guard let lease = local.tryAcquireNow(candidate.model) else { return regular }
            release = lease.release
            base = lease.baseURL
        case .ollama:
            if fields.model != candidate.model { upstreamBody = fields.replacingModel(in: body, with: candidate.model) }
        case .remote:
            guard let signer else { return regular }
            path = endpoint.path
            extra += signer.headers(method: "POST", path: endpoint.path, body: body.readableBytesView, now: store.clock.wallMilliseconds())
            extra += [("x-dagi-hop", "1"), ("x-dagi-agent", caller.agent), ("x-dagi-model", candidate.model)]
        }
        guard let (host, port) = Self.hostPort(base) else {
            release?()
            return regular
        }
        if !caller.isHop {
            do {
                try limiter.admit(caller.agent, rpm: snapshot.agents[caller.agent]?.rpm)
            } catch {
                release?()
                return regular
            }
            agentSeen(caller.agent)
        }
        health.begin(candidate.key)
        var headers = HTTPHeaders()
        headers.reserveCapacity(8 + extra.count)
        headers.add(name: "host", value: "\(host):\(port)")
        headers.add(name: "content-type", value: head.headerFields[.contentType] ?? "application/json")
        headers.add(name: "content-length", value: String(upstreamBody.readableBytes))
        for name in [HTTPField.Name.accept, .acceptEncoding, .userAgent] {
            if let value = head.headerFields[name] { headers.add(name: name.canonicalName, value: value) }
        }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let keepAlive = !(head.headerFields[.connection].map { $0.utf8.count == 5 && $0.lowercased() == "close" } ?? false)
        return .relay(FastAttempt(
            endpoint: endpoint, candidate: candidate, caller: caller, requestID: requestID, started: .now, head: head,
            originalBody: body, keepAlive: keepAlive, host: host, port: port,
            upstreamHead: HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers),
            upstreamBody: upstreamBody, release: release
        ))
    }

    /// A fast attempt failed before answering: count it, free its lease.
    func fastFailed(_ attempt: FastAttempt, reason: String) {
        attempt.release?()
        if health.failed(attempt.candidate.key, reason: reason) { metrics.cooldowns.increment() }
        health.end(attempt.candidate.key)
        metrics.failovers.increment()
    }

    /// `http://host:port` → (host, port); nil for anything else (TLS goes the regular way).
    static func hostPort(_ base: String) -> (String, Int)? {
        guard base.hasPrefix("http://") else { return nil }
        let rest = base.dropFirst(7).prefix { $0 != "/" }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else {
            return rest.isEmpty ? nil : (String(rest), 80)
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
