import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// A fast-path request the router could decide on the spot: where it goes and what to send.
struct FastAttempt {
    let endpoint: Endpoint
    let candidate: Candidate
    let caller: RequestRouter.Caller
    let requestID: String
    let started: ContinuousClock.Instant
    /// The client's request, for the regular path if this attempt fails before answering.
    let head: HTTPRequest
    let originalBody: ByteBuffer
    let keepAlive: Bool
    let host: String
    let port: Int
    let upstreamHead: HTTPRequestHead
    let upstreamBody: ByteBuffer
    let release: (@Sendable () -> Void)?
}

/// One fast-path relay: sends the request to the upstream over a pooled connection on this
/// event loop and streams the answer back part by part, with backpressure. A failure before
/// the answer begins hands the request to the regular path; after it, ends the stream with an
/// error event. Confined to the event loop of the client's connection.
final class FastRelay {
    private enum Phase { case connecting, awaitingHead, streaming, done }

    let context: ChannelHandlerContext
    let attempt: FastAttempt
    let pool: LoopPool
    let router: RequestRouter
    unowned let handler: FastPathHandler
    private var phase = Phase.connecting
    private var upstream: (any Channel)?
    private var timeout: Scheduled<Void>?
    private let tap = RelayTap()
    private var format = StreamFormat.whole
    private var status = 0
    private var reusable = true
    private var sent = ContinuousClock.now

    init(context: ChannelHandlerContext, attempt: FastAttempt, pool: LoopPool, router: RequestRouter, handler: FastPathHandler) {
        self.context = context
        self.attempt = attempt
        self.pool = pool
        self.router = router
        self.handler = handler
    }

    func start() {
        let limit = min(router.config.firstByteTimeout.duration, router.config.requestTimeout.duration - (ContinuousClock.now - attempt.started))
        let nanoseconds = max(1_000_000, limit.inNanoseconds)
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in fail("timed out") }
        sent = .now
        pool.connection(host: attempt.host, port: attempt.port).hop(to: context.eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard phase == .connecting else {
                    channel.close(promise: nil)
                    return
                }
                upstream = channel
                guard let upstreamHandler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                    fail("upstream connection without a handler")
                    return
                }
                upstreamHandler.relay = self
                phase = .awaitingHead
                channel.write(HTTPClientRequestPart.head(attempt.upstreamHead), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(attempt.upstreamBody)), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            case .failure(let error):
                fail(RequestRouter.describe(error))
            }
        }
    }

    func upstream(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            guard phase == .awaitingHead else { return }
            timeout?.cancel()
            if head.status.code >= 500 || head.status == .tooManyRequests {
                reusable = false
                fail("answered \(head.status.code)")
                return
            }
            status = Int(head.status.code)
            reusable = head.isKeepAlive
            format = StreamFormat(contentType: head.headers.first(name: "content-type"))
            phase = .streaming
            // Streams go out chunk by chunk as they come; a whole answer in one flush at its end.
            if format == .whole {
                context.write(handler.wrapOutboundOut(.head(response(head))), promise: nil)
            } else {
                context.writeAndFlush(handler.wrapOutboundOut(.head(response(head))), promise: nil)
            }
        case .body(let chunk):
            guard phase == .streaming else { return }
            tap.observe(chunk)
            if format == .whole {
                context.write(handler.wrapOutboundOut(.body(chunk)), promise: nil)
            } else {
                context.writeAndFlush(handler.wrapOutboundOut(.body(chunk)), promise: nil)
            }
        case .end:
            guard phase == .streaming else { return }
            phase = .done
            detachUpstream(recycle: reusable)
            let close = !attempt.keepAlive
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [context] _ in
                if close { context.close(promise: nil) }
            }
            complete(error: nil)
        }
    }

    func upstreamFailed(_ error: any Error) {
        switch phase {
        case .connecting, .awaitingHead:
            fail(RequestRouter.describe(error))
        case .streaming:
            phase = .done
            detachUpstream(recycle: false)
            if let trailer = format.errorTrailer("the model server failed mid-answer: \(RequestRouter.describe(error))", requestID: attempt.requestID) {
                context.write(handler.wrapOutboundOut(.body(trailer)), promise: nil)
            }
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            complete(error: error)
            if format == .whole { context.close(promise: nil) }
        case .done:
            break
        }
    }

    /// Before any byte went to the client: give the request to the regular path.
    private func fail(_ reason: String) {
        guard phase == .connecting || phase == .awaitingHead else { return }
        phase = .done
        timeout?.cancel()
        detachUpstream(recycle: false)
        router.fastFailed(attempt, reason: reason)
        handler.relayFellBack(context, attempt: attempt, reason: reason)
    }

    func downstreamWritabilityChanged(_ writable: Bool) {
        upstream?.setOption(.autoRead, value: writable).whenFailure { _ in }
    }

    func downstreamClosed() {
        guard phase != .done else { return }
        let wasStreaming = phase == .streaming
        phase = .done
        timeout?.cancel()
        detachUpstream(recycle: false)
        if wasStreaming {
            complete(error: ChannelError.ioOnClosedChannel)
        } else {
            router.fastFailed(attempt, reason: "the client went away")
        }
    }

    private func detachUpstream(recycle: Bool) {
        guard let channel = upstream else { return }
        upstream = nil
        if let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) { handler.relay = nil }
        if recycle {
            channel.setOption(.autoRead, value: true).whenFailure { _ in }
            pool.recycle(channel, host: attempt.host, port: attempt.port)
        } else {
            channel.close(promise: nil)
        }
    }

    private func complete(error: (any Error)?) {
        handler.relayFinished()
        router.finish(
            candidate: attempt.candidate, caller: attempt.caller, started: attempt.started, sent: sent, tap: tap,
            status: error == nil ? status : 502, error: error, requestID: attempt.requestID, release: attempt.release
        )
    }

    /// The upstream's head as the client gets it: hop-by-hop headers dropped, the route added.
    private func response(_ head: HTTPResponseHead) -> HTTPResponse {
        var fields = HTTPFields()
        let chunked = head.headers.contains(name: "transfer-encoding")
        for (name, value) in head.headers where !value.isEmpty {
            let lowered = name.lowercased()
            if FastRelay.hopByHop.contains(lowered) || (lowered == "content-length" && chunked) { continue }
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields[.dagiNode] = attempt.candidate.node
        fields[.dagiModel] = attempt.candidate.model
        fields[.dagiRoute] = attempt.candidate.route
        fields[.requestID] = attempt.requestID
        return HTTPResponse(status: .init(code: Int(head.status.code), reasonPhrase: head.status.reasonPhrase), headerFields: fields)
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "server", "date"]
}
