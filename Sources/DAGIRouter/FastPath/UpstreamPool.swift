import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Keep-alive HTTP/1 connections to model servers and peers, one pool per event loop, so a
/// fast-path request and its upstream connection share a thread.
final class UpstreamPool: Sendable {
    private let pools = Mutex<[ObjectIdentifier: LoopPool]>([:])

    /// The pool of `eventLoop`; only ever used on that loop.
    func pool(for eventLoop: any EventLoop) -> LoopPool {
        pools.withLock { pools in
            if let pool = pools[ObjectIdentifier(eventLoop)] { return pool }
            let pool = LoopPool(eventLoop: eventLoop)
            pools[ObjectIdentifier(eventLoop)] = pool
            return pool
        }
    }
}

/// Idle upstream connections of one event loop, by host and port. Confined to its loop.
final class LoopPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    private var idle: [String: [any Channel]] = [:]
    static let maxIdlePerHost = 64

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// An idle connection to `host:port`, or a new one.
    func connection(host: String, port: Int) -> EventLoopFuture<any Channel> {
        eventLoop.preconditionInEventLoop()
        let key = "\(host):\(port)"
        while var channels = idle[key], let channel = channels.popLast() {
            idle[key] = channels
            if channel.isActive { return eventLoop.makeSucceededFuture(channel) }
        }
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(host: host, port: port)
    }

    /// Returns a connection whose exchange ended cleanly, for the next request.
    func recycle(_ channel: any Channel, host: String, port: Int) {
        eventLoop.preconditionInEventLoop()
        let key = "\(host):\(port)"
        guard channel.isActive, (idle[key]?.count ?? 0) < Self.maxIdlePerHost else {
            channel.close(promise: nil)
            return
        }
        idle[key, default: []].append(channel)
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.idle[key]?.removeAll { $0 === channel }
        }
    }
}

/// Delivers an upstream response to whichever relay currently uses the connection.
final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    /// Set by the relay using the connection; confined to the channel's loop.
    var relay: FastRelay?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        relay?.upstream(part)
    }

    func channelInactive(context: ChannelHandlerContext) {
        relay?.upstreamFailed(ChannelError.ioOnClosedChannel)
        relay = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        relay?.upstreamFailed(error)
        relay = nil
        context.close(promise: nil)
    }
}
