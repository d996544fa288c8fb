import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 channel with the router's fast path in its pipeline.
///
/// Everything arrives through Hummingbird as usual, except the hot inference requests that can
/// be decided on the spot (a known key, a model loaded or remote): ``FastPathHandler`` relays
/// those at the NIO level, on the connection's own event loop, without a task per request.
/// NIO's pipelining assistance keeps one request in flight per connection, so fast and
/// Hummingbird answers never interleave.
public struct FastPathHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let router: RequestRouter
    let idleTimeout: Duration?

    public init(responder: @escaping HTTPChannelHandler.Responder, router: RequestRouter, idleTimeout: Duration? = nil) {
        self.responder = responder
        self.router = router
        self.idleTimeout = idleTimeout
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: .init()
            )
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try channel.pipeline.syncOperations.addHandler(FastPathHandler(router: router, eventLoop: channel.eventLoop))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the router's fast path.
    public static func dagiRouter(_ router: RequestRouter) -> HTTPServerBuilder {
        .init { responder in FastPathHTTP1Channel(responder: responder, router: router) }
    }
}
