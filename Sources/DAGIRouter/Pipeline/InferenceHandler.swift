import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTPTypes

/// The router's place in each connection's pipeline, between Hummingbird's HTTP codec and
/// Hummingbird itself (added through `HTTP1Channel.Configuration.additionalChannelHandlers`).
///
/// Inference requests (``Endpoint``) are taken here and answered at the NIO level by an
/// ``Exchange``: admitted from their headers before the body is read, then routed and relayed
/// on this connection's event loop. Everything else goes to Hummingbird untouched.
///
/// It also owns the connection's discipline, for both kinds of request:
/// - **Order.** HTTP/1.1 answers in request order, so a pipelined request waits (held here,
///   socket reads paused) until the answer before it — ours or Hummingbird's — is complete.
/// - **Time.** An idle connection closes after `idleTimeout`; a request's head and body must
///   arrive within `requestTimeout` (no slow-loris).
/// - **Count.** Past `maxConnections` open connections, new ones are closed at once.
final class InferenceHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// An inference request whose head was admitted and whose body is arriving.
    private struct Incoming {
        let head: HTTPRequest
        let endpoint: Endpoint
        /// The Swapper's own endpoint (`/swapper/v1/...`), for the operator.
        let swapperDirect: Bool
        /// A compatibility API's completion endpoint (the request is chat underneath).
        let compat: CompatRoute?
        var caller: Admission.Pending?
        var body: ByteBuffer
        let requestID: String
        let started: ContinuousClock.Instant
    }

    /// The request being received.
    private enum Receiving {
        case nothing
        case forHummingbird
        case body(Incoming)
        /// Its key is unknown: the store is being asked; reading waits.
        case keyCheck(Incoming)
        /// A refused request's remaining parts.
        case discarding
    }

    /// The answer being written.
    private enum Answering {
        case nothing
        case hummingbird
        /// Ours; the exchange once there is one.
        case ours(Exchange?)
        /// Ours, from the cache or another request's upstream call (coalesced).
        case cached(ClientWriter)
    }

    let router: RequestRouter
    private var pool: LoopPool!
    private var receiving = Receiving.nothing
    private var answering = Answering.nothing
    /// Parts of pipelined requests waiting for the answer before them.
    private var held = CircularBuffer<HTTPRequestPart>()
    private var readWaiting = false
    private var draining = false
    private var opened = false
    /// Whether this connection holds a place under the connection limit.
    private var counted = false
    private var idleTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Agent creations started on this connection: a creation's result counts only while it is the latest.
    private var creations = 0

    init(router: RequestRouter) { self.router = router }

    // MARK: - Connection

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        pool = router.upstreamPool.pool(for: context.eventLoop)
        if context.channel.isActive { connectionOpened(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connectionOpened(context)
        context.fireChannelActive()
    }

    private func connectionOpened(_ context: ChannelHandlerContext) {
        guard !opened else { return }
        opened = true
        guard router.connections.open() else {
            router.logRefusal(.connection, "connection limit reached (\(router.serverLimits.maxConnections)); closing a new connection")
            context.close(promise: nil)
            return
        }
        counted = true
        armIdleTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        requestTimer?.cancel()
        if counted {
            counted = false
            router.connections.close()
        }
        switch answering {
        case .ours(let exchange?): exchange.clientClosed()
        case .cached(let writer): writer.clientLeft()
        default: break
        }
        answering = .nothing
        receiving = .discarding
        held.removeAll()
        context.fireChannelInactive()
    }

    /// The context holds this handler: dropping it here breaks the cycle that would keep both
    /// (and the pipeline) alive after the connection is gone.
    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        requestTimer?.cancel()
        self.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .ours(let exchange?) = answering { exchange.clientWritabilityChanged(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !held.isEmpty || mustHold(part) {
            held.append(part)
            return
        }
        process(part, context: context)
    }

    /// A new request waits while one is being received or answered; a body waits while its key
    /// is checked.
    private func mustHold(_ part: HTTPRequestPart) -> Bool {
        if case .keyCheck = receiving { return true }
        guard case .head = part else { return false }
        if case .nothing = receiving, case .nothing = answering { return false }
        return true
    }

    private func process(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (part, receiving) {
        case (.head(let head), .nothing):
            idleTimer?.cancel()
            armRequestTimer(context)
            if let route = Endpoint.route(method: head.method, path: head.path) {
                begin(head, route.endpoint, swapperDirect: route.swapperDirect, context: context)
            } else if let compat = CompatRoute.match(method: head.method, path: head.path, config: router.compat) {
                begin(head, .chatCompletions, compat: compat, context: context)
            } else {
                receiving = .forHummingbird
                answering = .hummingbird
                context.fireChannelRead(wrapInboundOut(part))
            }
        case (.body, .forHummingbird):
            context.fireChannelRead(wrapInboundOut(part))
        case (.end, .forHummingbird):
            receiving = .nothing
            requestTimer?.cancel()
            context.fireChannelRead(wrapInboundOut(part))
        case (.body(var chunk), .body(var incoming)):
            guard incoming.body.readableBytes + chunk.readableBytes <= router.maxBody else {
                return refuse(.bodyTooLarge(limit: router.maxBody), incoming, context: context)
            }
            incoming.body.writeBuffer(&chunk)
            receiving = .body(incoming)
        case (.end, .body(let incoming)):
            receiving = .nothing
            requestTimer?.cancel()
            complete(incoming, context: context)
        case (.end, .discarding):
            receiving = .nothing
            requestTimer?.cancel()
        case (_, .discarding):
            break
        default:
            // Parts out of order cannot come from the codec; close rather than guess.
            context.close(promise: nil)
        }
    }

    /// An inference request's head: admitted, refused, or its key looked up first.
    private func begin(_ head: HTTPRequest, _ endpoint: Endpoint, swapperDirect: Bool = false, compat: CompatRoute? = nil, context: ChannelHandlerContext) {
        let requestID = head.headerFields[.requestID].flatMap { RequestIDMiddleware.isAcceptable($0) ? $0 : nil }
            ?? RequestIDMiddleware.generate()
        answering = .ours(nil)
        var incoming = Incoming(
            head: head, endpoint: endpoint, swapperDirect: swapperDirect, compat: compat, caller: nil, body: context.channel.allocator.buffer(capacity: 0),
            requestID: requestID, started: .now
        )
        switch headVerdict(incoming, keysReloaded: false, context: context) {
        case .admitted(let caller):
            incoming.caller = caller
            admitted(incoming, context: context)
        case .refused(let error):
            refuse(error, incoming, context: context)
        case .unknownKey:
            receiving = .keyCheck(incoming)
            let router = self.router
            offLoop(context, { await router.refreshCredentials() }) { handler, _, _ in handler.keysChecked() }
        }
    }

    /// Runs `work` in a task, then `then` back on this connection's loop if the handler is still
    /// in its pipeline (the connection may have closed meanwhile).
    private func offLoop<T: Sendable>(
        _ context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> T, then: @escaping (InferenceHandler, ChannelHandlerContext, T) -> Void
    ) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let then = NIOLoopBound(then, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        Task {
            let result = await work()
            loop.execute {
                let handler = handler.value
                guard let context = handler.context else { return }
                then.value(handler, context, result)
            }
        }
    }

    /// Who is calling, from the head: the compatibility APIs' own check on their paths.
    private func headVerdict(_ incoming: Incoming, keysReloaded: Bool, context: ChannelHandlerContext) -> Admission.HeadVerdict {
        let loopback = LocalCaller.isLocal(remote: context.channel.remoteAddress, request: incoming.head)
        if let compat = incoming.compat {
            return router.admission.compatHead(incoming.head, api: compat.api, loopback: loopback, keysReloaded: keysReloaded)
        }
        return router.admission.head(incoming.head, loopback: loopback, keysReloaded: keysReloaded, swapperDirect: incoming.swapperDirect)
    }

    /// The caller is known: its body may come, if its declared size is within bounds.
    private func admitted(_ incoming: Incoming, context: ChannelHandlerContext) {
        if let length = incoming.head.headerFields[.contentLength].flatMap(Int.init), length > router.maxBody {
            return refuse(.bodyTooLarge(limit: router.maxBody), incoming, context: context)
        }
        receiving = .body(incoming)
    }

    private func keysChecked() {
        guard let context, case .keyCheck(var incoming) = receiving else { return }
        switch headVerdict(incoming, keysReloaded: true, context: context) {
        case .admitted(let caller):
            incoming.caller = caller
            admitted(incoming, context: context)
            drainHeld()
        case .refused(let error):
            refuse(error, incoming, context: context)
        case .unknownKey:
            refuse(Admission.unauthorized("the API key is not valid for any agent of this node"), incoming, context: context)
        }
    }

    /// Answers a request with an error before reading (the rest of) its body, and closes the
    /// connection after the answer: the body still on its way is not worth receiving.
    private func refuse(_ error: APIError, _ incoming: Incoming, context: ChannelHandlerContext) {
        receiving = .discarding
        held.removeAll()
        router.metrics.rejected(status: Int(error.status.code), code: error.code)
        if error.status == .unauthorized { router.logRefusal(.credentials, "\(error.code): \(error.message)") }
        writer(for: incoming, keepAlive: false, context: context).error(error, route: nil)
    }

    /// The body is in: admission's second half, the plan, and the exchange.
    private func complete(_ incoming: Incoming, context: ChannelHandlerContext, agentCreated: Bool = false) {
        guard let caller = incoming.caller else { return }
        let request: InferenceRequest
        let plan: [RankedCandidate]
        do {
            request = try router.admission.body(
                caller, endpoint: incoming.endpoint, compat: incoming.compat, head: incoming.head, body: incoming.body, requestID: incoming.requestID,
                started: incoming.started
            )
            plan = try router.plan(request)
        } catch let missing as Admission.AgentToCreate {
            guard agentCreated else { return createAgent(missing.name, then: incoming, context: context) }
            // Created, yet not in the catalog (a refresh that began before the write finished last).
            return answerError(
                APIError(status: .serviceUnavailable, code: "agent_not_ready", message: "agent \(missing.name) was just created; retry", headers: [.retryAfter: "1"]),
                incoming, context: context
            )
        } catch {
            return answerError(error as? APIError ?? APIError(status: .internalServerError, code: "internal_error", message: "internal error"), incoming, context: context)
        }
        if !request.caller.isHop { router.agentSeen(request.caller.agent) }
        let writer = writer(for: incoming, keepAlive: request.keepAlive, context: context, caller: caller, headers: request.rateLimitHeaders)
        // After the plan: a kept answer serves only a request allowed to reach its model. Its
        // writer may end the answer (and start the next pipelined request) before this returns.
        answering = .cached(writer)
        if case .answered = router.answerFromCache(request, writer: writer) { return }
        let exchange = Exchange(request: request, plan: plan, router: router, writer: writer, pool: pool)
        answering = .ours(exchange)
        exchange.start()
    }

    /// An admitted request's error, in its API's shape; the connection stays open unless the client said close.
    private func answerError(_ error: APIError, _ incoming: Incoming, context: ChannelHandlerContext) {
        router.metrics.rejected(status: Int(error.status.code), code: error.code)
        let keepAlive = incoming.head.headerFields[.connection]?.lowercased() != "close"
        writer(for: incoming, keepAlive: keepAlive, context: context, caller: incoming.caller).error(error, route: nil)
    }

    /// Creates the agent a compatibility caller named, then completes its request once more.
    /// The answer slot stays taken meanwhile (pipelined requests wait); a creation that takes
    /// longer than ``agentCreationTimeout`` (a store stuck on a lock) is answered 503, and its late
    /// result dropped.
    private func createAgent(_ name: String, then incoming: Incoming, context: ChannelHandlerContext) {
        creations &+= 1
        let creation = creations
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: Self.agentCreationTimeout) { [weak self] in
            guard let self, let context = self.context, self.creations == creation, case .ours(nil) = self.answering else { return }
            self.creations &+= 1
            self.answerError(
                APIError(status: .serviceUnavailable, code: "agent_not_ready", message: "agent \(name) could not be created in time; retry", headers: [.retryAfter: "1"]),
                incoming, context: context
            )
        }
        let router = self.router
        offLoop(context, { () async -> APIError? in
            do {
                try await router.createCompatAgent(name)
                return nil
            } catch {
                return error as? APIError ?? APIError(status: .internalServerError, code: "internal_error", message: "the agent could not be created")
            }
        }) { handler, context, failure in
            timeout.cancel()
            // Still this request's turn: not answered by the timeout, the connection not closed.
            guard handler.creations == creation, case .ours(nil) = handler.answering else { return }
            if let failure { return handler.answerError(failure, incoming, context: context) }
            handler.complete(incoming, context: context, agentCreated: true)
        }
    }

    static let agentCreationTimeout = TimeAmount.seconds(10)

    private func writer(
        for incoming: Incoming, keepAlive: Bool, context: ChannelHandlerContext, caller: Admission.Pending? = nil, headers: HTTPFields? = nil
    ) -> ClientWriter {
        var signature: ((Int) -> [(String, String)])?
        if case .hop(let pending, _, _) = caller, let verifier = router.verifier {
            let now = router.now
            signature = { status in verifier.signResponse(status: status, to: pending, body: [UInt8]?.none, now: now()) }
        }
        return ClientWriter(
            context: context, handler: self, requestID: incoming.requestID, errorStyle: incoming.compat?.api.errorStyle ?? incoming.endpoint.errorStyle,
            keepAlive: keepAlive, signature: signature, extraHeaders: headers
        )
    }

    /// Our answer is complete (its end written, or the connection given up).
    func answered(keepAlive: Bool) {
        answering = .nothing
        if keepAlive {
            drainHeld()
        } else {
            held.removeAll()
        }
    }

    /// Processes held parts while they can go, then lets reading resume.
    private func drainHeld() {
        guard !draining, let context else { return }
        draining = true
        defer { draining = false }
        var forwarded = false
        while let part = held.first {
            if case .keyCheck = receiving { break }
            if case .head = part {
                guard case .nothing = receiving, case .nothing = answering else { break }
            }
            held.removeFirst()
            process(part, context: context)
            if case .forHummingbird = receiving { forwarded = true }
            if case .hummingbird = answering { forwarded = true }
        }
        // Hummingbird takes the parts it was given when a read completes.
        if forwarded { context.fireChannelReadComplete() }
        if held.isEmpty, readWaiting, !isCheckingKey {
            readWaiting = false
            context.read()
        }
        armIdleTimer()
    }

    private var isCheckingKey: Bool { if case .keyCheck = receiving { return true } else { return false } }

    // MARK: - Outbound

    func read(context: ChannelHandlerContext) {
        if !held.isEmpty || isCheckingKey {
            readWaiting = true
            return
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Hummingbird's answers pass here on their way out; their end frees the connection.
        if case .end = unwrapOutboundIn(data), case .hummingbird = answering {
            context.write(data, promise: promise)
            answering = .nothing
            drainHeld()
            return
        }
        context.write(data, promise: promise)
    }

    // MARK: - Timers

    private func armIdleTimer() {
        guard let context, case .nothing = receiving, case .nothing = answering, held.isEmpty else { return }
        idleTimer?.cancel()
        let limit = router.serverLimits.idleTimeout
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limit)) { [weak self] in
            guard let self, let context = self.context, case .nothing = self.receiving, case .nothing = self.answering else { return }
            context.close(promise: nil)
        }
    }

    private func armRequestTimer(_ context: ChannelHandlerContext) {
        requestTimer?.cancel()
        requestTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(router.serverLimits.requestReadTimeout)) { [weak self] in
            guard let self else { return }
            switch self.receiving {
            case .nothing, .discarding: return
            default:
                self.router.logRefusal(.slowRequest, "a request's head and body took longer than \(self.router.serverLimits.requestReadTimeout); closing")
                context.close(promise: nil)
            }
        }
    }
}
