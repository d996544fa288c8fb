import HTTPTypes
import MeshHTTP
import NIOCore
import NIOHTTPTypes

/// Writes one request's answer to the client: the head with where it ran (and, for a hop, this
/// node's signature), body parts flushed as they come for streams, the end, and errors in the
/// client's API (OpenAI's, Ollama's or Anthropic's shape) with the request id. Confined to the client
/// connection's event loop; tells the connection's handler when the answer is complete.
///
/// A cacheable request's writer also records what it writes into its ``Flight`` (for the
/// requests waiting on the same answer, and the cache), and goes on recording after its own
/// client has left while others still wait.
final class ClientWriter {
    let context: ChannelHandlerContext
    unowned let handler: InferenceHandler
    let requestID: String
    let errorStyle: APIError.Style
    let keepAlive: Bool
    /// Signs the answer of a hop with its status (nil for a client's request).
    let signature: ((Int) -> [(String, String)])?
    /// Headers every answer to this request carries (the agent's rate limits, whether the cache had it).
    var extraHeaders: HTTPFields
    /// The flight this request leads: every part written is recorded there too.
    var flight: Flight?
    /// The client left: parts still go to the flight, nothing to the connection.
    private(set) var clientGone = false
    /// Told when the client leaves (a follower then leaves its flight).
    var onClientLeft: (() -> Void)?
    /// Body bytes written since the connection last had room for them.
    private var unreadBytes = 0
    /// How far a client may fall behind an answer that does not wait for it (one shared with
    /// other requests) before it is cut off.
    static let maxUnreadBytes = 2 << 20
    private var headWritten = false
    private var ended = false

    init(
        context: ChannelHandlerContext, handler: InferenceHandler, requestID: String, errorStyle: APIError.Style, keepAlive: Bool,
        signature: ((Int) -> [(String, String)])?, extraHeaders: HTTPFields? = nil
    ) {
        self.extraHeaders = extraHeaders ?? [:]
        self.context = context
        self.handler = handler
        self.requestID = requestID
        self.errorStyle = errorStyle
        self.keepAlive = keepAlive
        self.signature = signature
    }

    var eventLoop: any EventLoop { context.eventLoop }

    func head(_ response: HTTPResponse, route: Candidate?, flush: Bool) {
        guard !headWritten, !ended else { return }
        flight?.record(.head(response, route: route))
        writeHead(response, route: route, flush: flush)
    }

    private func writeHead(_ response: HTTPResponse, route: Candidate?, flush: Bool) {
        headWritten = true
        guard !clientGone else { return }
        var response = response
        if let route {
            response.headerFields[.dagiNode] = route.node
            response.headerFields[.dagiModel] = route.model
            response.headerFields[.dagiRoute] = route.route
        }
        response.headerFields[.requestID] = requestID
        // Ours, whatever an upstream (a peer) put there.
        for field in extraHeaders { response.headerFields[field.name] = field.value }
        if !keepAlive { response.headerFields[.connection] = "close" }
        for (name, value) in signature?(response.status.code) ?? [] {
            if let field = HTTPField.Name(name) { response.headerFields[field] = value }
        }
        let part = NIOAny(HTTPResponsePart.head(response))
        if flush { context.writeAndFlush(part, promise: nil) } else { context.write(part, promise: nil) }
    }

    func body(_ buffer: ByteBuffer, flush: Bool) {
        guard headWritten, !ended else { return }
        flight?.record(.body(buffer))
        writeBody(buffer, flush: flush)
    }

    private func writeBody(_ buffer: ByteBuffer, flush: Bool) {
        guard !clientGone else { return }
        if context.channel.isWritable { unreadBytes = 0 } else { unreadBytes += buffer.readableBytes }
        // A leader whose followers keep the upstream reading: too slow a client is cut off,
        // and the answer goes on for the others.
        if isOverwhelmed(), flight?.hasFollowers == true {
            // Gone from here on, whatever runs before the close is noticed.
            clientGone = true
            context.close(promise: nil)
            return
        }
        let part = NIOAny(HTTPResponsePart.body(buffer))
        if flush { context.writeAndFlush(part, promise: nil) } else { context.write(part, promise: nil) }
    }

    /// Ends the answer; `closing` also ends the connection (an answer whose framing may no
    /// longer match what was announced).
    func end(trailers: HTTPFields? = nil, closing: Bool = false) {
        guard headWritten, !ended else { return }
        flight?.record(.end(trailers: trailers, closing: closing, settled: nil))
        writeEnd(trailers: trailers, closing: closing)
    }

    private func writeEnd(trailers: HTTPFields?, closing: Bool) {
        ended = true
        guard !clientGone else { return }
        let close = !keepAlive || closing
        let context = self.context
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(trailers))).assumeIsolated().whenComplete { _ in
            if close { context.close(promise: nil) }
        }
        handler.answered(keepAlive: !close)
    }

    /// The whole answer is an error.
    func error(_ error: APIError, route: Candidate?) {
        guard !headWritten, !ended else { return }
        flight?.record(.error(error, route: route))
        var fields = error.headers
        fields[.contentType] = "application/json"
        let body = error.body(requestID: requestID, style: errorStyle)
        fields[.contentLength] = String(body.count)
        writeHead(HTTPResponse(status: error.status, headerFields: fields), route: route, flush: false)
        writeBody(context.channel.allocator.buffer(bytes: body), flush: false)
        writeEnd(trailers: nil, closing: false)
    }

    /// The client left: nothing more touches this connection (or its handler, which may be
    /// gone), while the flight this request leads, if any, goes on for its followers.
    func clientLeft() {
        guard !clientGone else { return }
        clientGone = true
        let told = onClientLeft
        onClientLeft = nil
        told?()
    }

    /// The client has fallen more than ``maxUnreadBytes`` (and `allowing`) behind.
    func isOverwhelmed(allowing extra: Int = 0) -> Bool { unreadBytes > Self.maxUnreadBytes + extra }

    /// Whether the upstream may be read faster than this client reads: it left, or others wait
    /// on the answer too.
    var readsAheadOfClient: Bool { clientGone || flight?.hasFollowers == true }

    /// The answer cannot be completed (a whole answer cut short): the connection closes.
    func abort() {
        guard !ended else { return }
        flight?.record(.abort)
        ended = true
        guard !clientGone else { return }
        context.close(promise: nil)
        handler.answered(keepAlive: false)
    }
}
