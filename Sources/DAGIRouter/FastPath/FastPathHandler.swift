import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTPTypes

extension HTTPField.Name {
    /// Internal: the candidate a fast-path attempt already tried and why it failed, so the
    /// regular path that takes over does not try it again. Never accepted from clients.
    static let dagiSkip = HTTPField.Name("x-dagi-fastpath-skip")!
    /// Internal: the fast path already verified this forwarded request's signature (which can
    /// be used only once). Never accepted from clients.
    static let dagiHopVerified = HTTPField.Name("x-dagi-hop-verified")!
}

/// The router's fast path, in the connection's pipeline after Hummingbird's HTTP codec.
///
/// For an OpenAI inference request it collects the (bounded) body, asks the router for a
/// decision it can make synchronously, and relays the answer at the NIO level on this event
/// loop. Anything it cannot decide on the spot — an unknown key, a model to start, an error to
/// explain, a failed first attempt — it hands, untouched, to Hummingbird's regular path, which
/// answers with exactly the same semantics. Other requests pass straight through.
final class FastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        case passing
        case collecting(HTTPRequest, Endpoint, ByteBuffer, tooLarge: Bool)
        case relaying(FastRelay)
    }

    let router: RequestRouter
    let pool: LoopPool
    private var state = State.idle

    init(router: RequestRouter, eventLoop: any EventLoop) {
        self.router = router
        self.pool = router.upstreamPool.pool(for: eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (part, state) {
        case (.head(var head), .idle):
            head.headerFields[.dagiSkip] = nil
            head.headerFields[.dagiHopVerified] = nil
            if let endpoint = router.fastEndpoint(head) {
                state = .collecting(head, endpoint, context.channel.allocator.buffer(capacity: 0), tooLarge: false)
            } else {
                state = .passing
                context.fireChannelRead(wrapInboundOut(.head(head)))
            }
        case (.body(let chunk), .collecting(let head, let endpoint, var body, let tooLarge)):
            if tooLarge || body.readableBytes + chunk.readableBytes > router.maxBody {
                state = .collecting(head, endpoint, body, tooLarge: true)
            } else {
                var chunk = chunk
                body.writeBuffer(&chunk)
                state = .collecting(head, endpoint, body, tooLarge: false)
            }
        case (.end, .collecting(let head, let endpoint, let body, let tooLarge)):
            state = .idle
            if tooLarge {
                writeError(context, APIError.bodyTooLarge(limit: router.maxBody), head: head)
            } else {
                decide(context, head: head, endpoint: endpoint, body: body)
            }
        case (.end, .passing):
            state = .idle
            context.fireChannelRead(data)
        default:
            context.fireChannelRead(data)
        }
    }

    private func decide(_ context: ChannelHandlerContext, head: HTTPRequest, endpoint: Endpoint, body: ByteBuffer) {
        let requestID = head.headerFields[.requestID].flatMap { RequestIDMiddleware.isAcceptable($0) ? $0 : nil } ?? RequestIDMiddleware.generate()
        let decision = router.fastDecision(endpoint, head: head, body: body, remote: context.channel.remoteAddress, requestID: requestID)
        guard case .relay(let attempt) = decision else {
            if case .regular(let verifiedHop) = decision {
                replay(context, head: head, body: body, skip: nil, verifiedHop: verifiedHop)
            }
            return
        }
        let relay = FastRelay(context: context, attempt: attempt, pool: pool, router: router, handler: self)
        state = .relaying(relay)
        relay.start()
    }

    /// Hands a request to Hummingbird's regular path, as if it had just arrived.
    private func replay(_ context: ChannelHandlerContext, head: HTTPRequest, body: ByteBuffer, skip: String?, verifiedHop: Bool = false) {
        var head = head
        if let skip { head.headerFields[.dagiSkip] = skip }
        if verifiedHop { head.headerFields[.dagiHopVerified] = "1" }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
        context.fireChannelRead(wrapInboundOut(.end(nil)))
        context.fireChannelReadComplete()
    }

    func relayFinished() { state = .idle }

    /// The fast attempt failed before answering: the regular path takes over, skipping it.
    func relayFellBack(_ context: ChannelHandlerContext, attempt: FastAttempt, reason: String) {
        state = .idle
        let clean = reason.replacingOccurrences(of: "\n", with: " ").prefix(300)
        replay(context, head: attempt.head, body: attempt.originalBody, skip: "\(attempt.candidate.key)|\(clean)", verifiedHop: attempt.caller.isHop)
    }

    private func writeError(_ context: ChannelHandlerContext, _ error: APIError, head: HTTPRequest) {
        let requestID = RequestIDMiddleware.generate()
        var fields = error.headers
        fields[.contentType] = "application/json"
        fields[.requestID] = requestID
        fields[.connection] = "close"
        let body = error.body(requestID: requestID)
        fields[.contentLength] = String(body.count)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: error.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        // The client may still be sending an oversized body: close once the answer is out.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .relaying(let relay) = state { relay.downstreamWritabilityChanged(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .relaying(let relay) = state { relay.downstreamClosed() }
        state = .idle
        context.fireChannelInactive()
    }
}
