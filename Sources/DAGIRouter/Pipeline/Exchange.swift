import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// One admitted request from its first attempt to its last byte, on the client connection's
/// event loop.
///
/// It tries the planned candidates in order — failing over on a connection error, a timeout, a
/// 5xx or a 429, a peer's refusal or an unsigned peer answer, all before the first byte reaches
/// the client — then relays the answer through its format adapter with backpressure. A loaded
/// local model or a known peer is sent to at once; a model that must start, or a peer whose
/// identity is not known yet, is waited for in a task and the exchange resumes on its loop. When
/// the client hangs up, the upstream connection is closed at once (a model server then stops
/// generating) and the lease is released.
final class Exchange: UpstreamReceiver {
    enum Phase {
        case preparing
        case connecting
        case awaitingHead
        /// An answer not to relay (a failover status, or an error to rephrase): its body is read,
        /// bounded, for the message.
        case readingError(HTTPResponseHead, ByteBuffer)
        case relaying
        case done
    }

    let request: InferenceRequest
    let router: RequestRouter
    let writer: ClientWriter
    let pool: LoopPool
    var plan: [RankedCandidate]
    var next = 0
    var failures: [(Candidate, String)] = []
    /// The explanation of the only failure so far, when its place gave one.
    var onlyAnswer: APIError?
    var phase = Phase.preparing
    var candidate: Candidate?
    var call: UpstreamCall?
    var upstream: (any Channel)?
    var timer: Scheduled<Void>?
    var waiting: Task<Void, Never>?
    var adapter: (any AnswerAdapter)?
    let tap = RelayTap()
    var status = 0
    var sent = ContinuousClock.now
    /// Sends so far (a connection's completion checks it is still the current one's).
    var sends = 0
    /// The current try of a candidate.
    var attempt: Attempt?
    var reusable = false
    var retriedBoot = false
    /// The worst-case cost set aside for the current cloud attempt, settled when it ends.
    var reservation: BudgetBook.Reservation?
    var lastChunk = ContinuousClock.now
    /// Whether the client was told the answer's length (bytes relayed unchanged): an answer
    /// cut short then cannot end cleanly on this connection.
    var announcedLength = false
    /// A whole (non-streamed) answer is held until its end, so its head can say what it cost.
    var heldHead: HTTPResponse?
    var heldBody = ByteBuffer()
    /// Past this, a whole answer is relayed as it comes and goes without the cost header.
    static let holdLimit = 32 << 20
    let deadline: ContinuousClock.Instant

    init(request: InferenceRequest, plan: [RankedCandidate], router: RequestRouter, writer: ClientWriter, pool: LoopPool) {
        self.request = request
        self.plan = plan
        self.router = router
        self.writer = writer
        self.pool = pool
        self.deadline = request.started + router.config.requestTimeout.duration
    }

    var eventLoop: any EventLoop { writer.eventLoop }

    func start() {
        if let flight = writer.flight {
            // A follower joining (or the last leaving) changes whose pace the upstream is read at.
            let exchange = NIOLoopBound(self, eventLoop: eventLoop)
            flight.onSharingChanged { exchange.eventLoop.execute { exchange.value.refreshReading() } }
        }
        tryNext()
    }

    // MARK: - Attempts

    func tryNext() {
        while next < plan.count {
            guard ContinuousClock.now < deadline, failures.count < router.config.maxAttempts else { break }
            let candidate = plan[next].candidate
            next += 1
            if candidate.isCloud {
                // Concurrent requests near a budget: only those whose worst case fits are sent.
                switch router.reserve(request, for: candidate) {
                case .reserved(let reserved):
                    reservation = reserved
                case .refused(let exceeded):
                    failures.append((candidate, "its budget has no room for this request's worst-case cost"))
                    onlyAnswer = failures.count == 1 ? RequestRouter.budgetExceeded(exceeded, model: request.requestedModel) : nil
                    continue
                }
            }
            if !failures.isEmpty { router.metrics.failovers.increment() }
            self.candidate = candidate
            let attempt = Attempt(candidate: candidate, started: .now, sentAt: router.now(), wait: plan[next - 1].wait)
            self.attempt = attempt
            router.health.begin(candidate, now: attempt.sentAt)
            // A spill: the first choice is a peer although a loaded model here could serve it
            // (not a failover, not a model only a peer has loaded).
            let entry = plan[next - 1].aliasIndex
            if candidate.place == .remote, failures.isEmpty, !request.caller.isHop, plan.contains(where: {
                $0.aliasIndex == entry && $0.candidate.isLocal && !$0.candidate.isCloud && $0.candidate.loaded && !$0.coolingDown
            }) {
                router.metrics.spilled(to: candidate.node)
            }
            let backend = router.backend(for: candidate)
            do {
                if let call = try backend.prepareNow(request, for: candidate) {
                    send(call)
                } else {
                    wait(for: backend, candidate)
                }
                return
            } catch let failure as AttemptFailure {
                recordFailure(failure.reason, answer: failure.answer)
            } catch {
                // The request itself is at fault (it cannot be translated): no candidate helps.
                router.health.end(attempt)
                finishWithError(error)
                return
            }
        }
        // A single candidate that explained itself (the Swapper's queue is full, there is no
        // room): its own answer. Several: every one's reason.
        if failures.count == 1, let onlyAnswer { return finishWithError(onlyAnswer) }
        let agent = request.caller.isHop ? nil : request.caller.agent
        let withheld = agent.map { ($0, router.catalog.current.cloudWithheld(request.requestedModel, agent: $0)) }
        finishWithError(RequestRouter.exhausted(request.requestedModel, failures: failures, timedOut: ContinuousClock.now >= deadline, withheld: withheld))
    }

    /// Prepares the call in a task (a model start, a peer lookup), then resumes on this loop.
    func wait(for backend: any Backend, _ candidate: Candidate) {
        let request = self.request
        let timeout = min(deadline - .now, router.config.firstByteTimeout.duration)
        let exchange = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        waiting = Task {
            let result: Result<UpstreamCall, any Error>
            do {
                result = .success(try await backend.prepare(request, for: candidate, timeout: timeout))
            } catch {
                result = .failure(error)
            }
            loop.execute {
                let exchange = exchange.value
                exchange.waiting = nil
                guard case .preparing = exchange.phase else {
                    // The client left meanwhile: give back what was prepared for it.
                    if case .success(let call) = result { call.release?() }
                    return
                }
                switch result {
                case .success(let call): exchange.send(call)
                case .failure(let failure as AttemptFailure): exchange.attemptFailed(failure.reason, answer: failure.answer)
                case .failure(let error):
                    if let attempt = exchange.attempt { exchange.router.health.end(attempt) }
                    exchange.finishWithError(error)
                }
            }
        }
    }

    func send(_ call: UpstreamCall) {
        self.call = call
        phase = .connecting
        sent = .now
        sends += 1
        let send = sends
        arm(min(router.config.firstByteTimeout.duration, deadline - .now)) { [self] in attemptFailed("timed out") }
        pool.connection(to: call.target, provider: call.isProvider).assumeIsolated().whenComplete { [self] result in
            // A connection that comes after its attempt timed out belongs to no one: the next
            // attempt's request must not go down it, nor its failure end that attempt.
            guard send == sends else {
                if case .success(let channel) = result { channel.close(promise: nil) }
                return
            }
            switch result {
            case .success(let channel):
                guard case .connecting = phase else {
                    channel.close(promise: nil)
                    return
                }
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                    channel.close(promise: nil)
                    attemptFailed("upstream connection without a handler")
                    return
                }
                upstream = channel
                handler.exchange = self
                // A pooled connection comes back reading; a client still busy with the answer
                // before this one sends no new writability event to stop it.
                if !writer.readsAheadOfClient, !writer.context.channel.isWritable { channel.setOption(.autoRead, value: false).whenFailure { _ in } }
                phase = .awaitingHead
                channel.write(HTTPClientRequestPart.head(call.head), promise: nil)
                if call.body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(call.body)), promise: nil) }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            case .failure(let error):
                attemptFailed(RequestRouter.describe(error))
            }
        }
    }

    /// The current attempt failed before any byte reached the client: the next candidate.
    func attemptFailed(_ reason: String, answer: APIError? = nil) {
        switch phase {
        case .preparing, .connecting, .awaitingHead, .readingError: break
        case .relaying, .done: return
        }
        recordFailure(reason, answer: answer)
        tryNext()
    }

    func recordFailure(_ reason: String, answer: APIError? = nil) {
        timer?.cancel()
        detachUpstream(recycle: false)
        call?.release?()
        call = nil
        phase = .preparing
        guard let candidate else { return }
        releaseReservation(candidate)
        failures.append((candidate, reason))
        onlyAnswer = failures.count == 1 ? answer : nil
        if router.health.failed(candidate.key, reason: reason) { router.metrics.cooldowns.increment() }
        if let attempt { router.health.end(attempt) }
        router.logger.warning("candidate failed", metadata: [
            "request_id": "\(request.requestID)", "candidate": "\(candidate)", "reason": "\(reason)",
        ])
    }

    /// Arms the one timer of the current phase.
    func arm(_ limit: Duration, _ onExpiry: @escaping () -> Void) {
        timer?.cancel()
        timer = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(max(1_000_000, limit.inNanoseconds)), onExpiry)
    }

    // MARK: - The upstream's answer

    func upstream(_ part: HTTPClientResponsePart) {
        switch (part, phase) {
        case (.head(let head), .awaitingHead):
            timer?.cancel()
            answerBegan(head)
        case (.body(let chunk), .relaying):
            lastChunk = .now
            tap.observe(chunk)
            do {
                if let out = try adapter?.feed(chunk), out.readableBytes > 0 { relay(out, flush: adapter?.streams ?? true) }
            } catch {
                relayFailed(error)
            }
        case (.body(var chunk), .readingError(let head, var collected)):
            if collected.readableBytes < 64 << 10 { collected.writeBuffer(&chunk) }
            phase = .readingError(head, collected)
        case (.end, .relaying):
            let last: ByteBuffer?
            do {
                last = try adapter?.finish()
            } catch {
                return relayFailed(error)
            }
            phase = .done
            detachUpstream(recycle: reusable)
            if let last, last.readableBytes > 0 { relay(last, flush: false) }
            let metered = meter()
            if let candidate { writer.flight?.settle(Flight.Settled(metered: metered, candidate: candidate)) }
            let cost = Metered.dollars(metered.costUSD)
            if var head = heldHead {
                head.headerFields[.dagiCost] = cost
                if heldBody.readableBytes > 0 || head.headerFields[.contentLength] == nil {
                    head.headerFields[.contentLength] = String(heldBody.readableBytes)
                }
                writer.head(head, route: candidate, flush: false)
                if heldBody.readableBytes > 0 { writer.body(heldBody, flush: false) }
                heldHead = nil
                writer.end()
            } else {
                // A stream learns its cost at its end: an HTTP trailer.
                writer.end(trailers: [.dagiCost: cost])
            }
            // A leader whose client left while others waited: the call is its (cost and all),
            // the answer did not reach it.
            finished(status: writer.clientGone ? 499 : status, error: nil, metered: metered)
        case (.end, .readingError(let head, let body)):
            errorAnswered(head, body: body)
        default:
            break
        }
    }

    func answerBegan(_ head: HTTPResponseHead) {
        guard let candidate, let call else { return }
        let code = Int(head.status.code)
        reusable = head.isKeepAlive
        if candidate.place == .remote {
            // A peer's answer counts only if the peer signed it for this request.
            let fields = head.headers
            do {
                _ = try router.verifier?.verifyResponse(
                    status: code, requestNonce: call.peerNonce ?? "", expected: candidate.node, body: [UInt8]?.none,
                    header: { fields.first(name: $0) }, now: router.now()
                )
            } catch {
                if code == 401, !retriedBoot, let boot = fields.first(name: MeshSignature.bootHeader) {
                    // The peer restarted: sign for its new run and try it once more.
                    retriedBoot = true
                    router.directory.learn(PeerIdentity(nodeID: candidate.node, boot: boot), at: candidate.baseURL)
                    return resend(candidate)
                }
                return attemptFailed(code == 401 || code == 403 ? "refused the forwarded request (\(code))" : "answered without the mesh's signature (\(error.rawValue))")
            }
        }
        if code < 200 || code >= 300 {
            // Read the explanation (bounded, briefly): a failover status moves on with it; a
            // client error is rephrased in the client's API, never relayed raw.
            phase = .readingError(head, ByteBuffer())
            arm(.seconds(5)) { [self] in
                if case .readingError(let head, let body) = phase { errorAnswered(head, body: body) }
            }
            return
        }
        status = code
        phase = .relaying
        lastChunk = .now
        watchForStalls()
        let adapter = call.answer.makeAdapter()
        self.adapter = adapter
        var fields = HTTPFields()
        let chunked = head.headers.contains(name: "transfer-encoding")
        // A cloud provider's headers name the node's account (organization, project, rate
        // limits, cookies): its answers keep only what describes the answer.
        let fromProvider = candidate.place == .provider
        for (name, value) in head.headers where !value.isEmpty {
            let lowered = name.lowercased()
            if Self.notRelayed.contains(lowered) || (lowered == "content-length" && (chunked || !adapter.isPassthrough)) { continue }
            if fromProvider, !Self.relayedFromProviders.contains(lowered) { continue }
            if lowered == "content-length" { announcedLength = true }
            if lowered == "content-type" || lowered.hasPrefix("x-dagi-") { continue }
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        if let type = adapter.contentType(upstream: head.headers.first(name: "content-type")) { fields[.contentType] = type }
        let response = HTTPResponse(status: .init(code: code), headerFields: fields)
        if adapter.streams {
            writer.head(response, route: candidate, flush: true)
        } else {
            heldHead = response
        }
    }

    /// Body bytes for the client: streamed at once, or held with a whole answer's head.
    func relay(_ out: ByteBuffer, flush: Bool) {
        guard let head = heldHead else { return writer.body(out, flush: flush) }
        var out = out
        heldBody.writeBuffer(&out)
        if heldBody.readableBytes > Self.holdLimit {
            heldHead = nil
            writer.head(head, route: candidate, flush: false)
            writer.body(heldBody, flush: true)
            heldBody = ByteBuffer()
        }
    }

    /// An upstream silent for longer than the first-byte timeout mid-answer has stalled: the
    /// stream ends with an error instead of hanging the client. One timer per window, not per chunk.
    func watchForStalls() {
        let window = router.config.firstByteTimeout.duration
        arm(window - (ContinuousClock.now - lastChunk)) { [self] in
            guard case .relaying = phase else { return }
            if ContinuousClock.now - lastChunk >= window {
                relayFailed(AttemptFailure("no data for \(router.config.firstByteTimeout)"))
            } else {
                watchForStalls()
            }
        }
    }

    /// A peer that restarted is tried again with a request signed for its new run.
    func resend(_ candidate: Candidate) {
        detachUpstream(recycle: false)
        phase = .preparing
        do {
            guard let call = try router.backend(for: candidate).prepareNow(request, for: candidate) else {
                return attemptFailed("\(candidate.node)'s identity is unknown")
            }
            send(call)
        } catch {
            attemptFailed("\(error)")
        }
    }

}

/// One try of a candidate: when it began (on this node's clocks) and the wait expected there.
/// Its end takes the request off the candidate's count; a loaded candidate's answer time teaches
/// its service time.
struct Attempt {
    let candidate: Candidate
    let started: ContinuousClock.Instant
    /// Milliseconds since 1970: a peer's published load is corrected by the requests sent since.
    let sentAt: Int64
    let wait: ExpectedWait?
}

extension HealthTracker {
    func end(_ attempt: Attempt) { end(attempt.candidate, sentAt: attempt.sentAt) }
}
