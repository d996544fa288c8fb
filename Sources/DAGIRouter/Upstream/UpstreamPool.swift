import MeshHTTP
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Keep-alive HTTP/1.1 connections to model servers, peers and providers: one pool per event
/// loop, so a request and its upstream connection share a thread and no lock is taken per use.
///
/// Connections are plain or TLS by target. TLS to peers is verified against the mesh CA when
/// one is configured; providers against the system's roots. Both contexts are built once.
final class UpstreamPool: Sendable {
    private let pools = Mutex<[ObjectIdentifier: LoopPool]>([:])
    let tls: UpstreamTLS

    init(tls: UpstreamTLS) { self.tls = tls }

    /// The pool of `eventLoop`; only ever used on that loop.
    func pool(for eventLoop: any EventLoop) -> LoopPool {
        pools.withLock { pools in
            if let pool = pools[ObjectIdentifier(eventLoop)] { return pool }
            let pool = LoopPool(eventLoop: eventLoop, tls: tls)
            pools[ObjectIdentifier(eventLoop)] = pool
            return pool
        }
    }
}

/// The two trust domains an upstream can be in.
struct UpstreamTLS: Sendable {
    /// Peers: the mesh CA when configured, else the system's roots.
    let mesh: NIOSSLContext
    /// Cloud providers: the system's roots.
    let providers: NIOSSLContext

    init(meshCA: String?) throws {
        mesh = try NIOSSLContext(configuration: MeshTLS.client(caFile: meshCA))
        providers = try NIOSSLContext(configuration: MeshTLS.client(caFile: nil))
    }
}

/// Idle upstream connections of one event loop, by target. Confined to its loop.
final class LoopPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let tls: UpstreamTLS
    private var idle: [String: [any Channel]] = [:]
    static let maxIdlePerTarget = 64
    static let connectTimeout = TimeAmount.seconds(5)

    init(eventLoop: any EventLoop, tls: UpstreamTLS) {
        self.eventLoop = eventLoop
        self.tls = tls
    }

    /// An idle connection to `target`, or a new one. `trust` picks the TLS context for https.
    func connection(to target: UpstreamTarget, provider: Bool) -> EventLoopFuture<any Channel> {
        eventLoop.preconditionInEventLoop()
        let key = target.poolKey
        while var channels = idle[key], let channel = channels.popLast() {
            idle[key] = channels
            if channel.isActive { return eventLoop.makeSucceededFuture(channel) }
        }
        let sslContext = target.tls ? (provider ? tls.providers : tls.mesh) : nil
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(Self.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        // SNI and name checks take a host name; an IP address is checked against
                        // the certificate's IP entries instead.
                        let isAddress = (try? SocketAddress(ipAddress: target.host, port: 0)) != nil
                        let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : target.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(host: target.host, port: target.port)
            .map { [weak self] channel in
                // Once per connection, not per reuse: a closed connection leaves the idle list.
                channel.closeFuture.whenComplete { _ in
                    self?.eventLoop.execute { self?.idle[key]?.removeAll { $0 === channel } }
                }
                return channel
            }
    }

    /// Returns a connection whose exchange ended cleanly, for the next request.
    func recycle(_ channel: any Channel, target: UpstreamTarget) {
        eventLoop.preconditionInEventLoop()
        let key = target.poolKey
        guard channel.isActive, (idle[key]?.count ?? 0) < Self.maxIdlePerTarget else {
            channel.close(promise: nil)
            return
        }
        idle[key, default: []].append(channel)
    }
}

/// Delivers an upstream response to whichever exchange currently uses the connection.
final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    /// Set by the exchange using the connection; confined to the channel's loop.
    var exchange: (any UpstreamReceiver)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        exchange?.upstream(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.upstreamFailed(ChannelError.ioOnClosedChannel)
        exchange = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.upstreamFailed(error)
        exchange = nil
        context.close(promise: nil)
    }
}

/// What an upstream connection reports to: the exchange currently using it.
protocol UpstreamReceiver: AnyObject {
    func upstream(_ part: HTTPClientResponsePart)
    func upstreamFailed(_ error: any Error)
}
