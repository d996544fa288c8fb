import MeshCore
import NIOCore

/// Every translation goes through OpenAI's chat format: an upstream's answer is read into
/// OpenAI chat chunks (a stream) or one OpenAI chat completion (a whole answer), and those are
/// written in the client's API. So n upstream APIs and m client APIs need n + m dialects, not
/// n × m translators, and every pair is covered.

/// Reads one upstream API's answers as OpenAI chat.
protocol UpstreamDialect {
    /// The OpenAI chunks one upstream event stands for (none for pings, starts, stops).
    mutating func chunks(from event: ServerSentEvent) throws -> [JSONValue]
    /// The upstream's stream ended: the chunks still owed (a finish reason it never sent).
    mutating func finish() -> [JSONValue]
    /// A whole upstream answer as an OpenAI chat completion.
    mutating func completion(from answer: JSONValue) throws -> JSONValue
    /// What the answer used, once known.
    var usage: TokenUsage? { get }
    /// Whether the answer's end arrived (its usage is final; nothing but framing follows).
    var answerEnded: Bool { get }
}

/// Writes OpenAI chat in one client API.
protocol ClientDialect {
    /// The content type of a stream (`streaming`) or a whole answer.
    func contentType(streaming: Bool) -> String
    /// One OpenAI chunk, in the client's stream framing (possibly nothing).
    mutating func render(chunk: JSONValue) -> [UInt8]
    /// The end of the stream (`[DONE]`, a final line, `message_stop`), with the usage known.
    mutating func finish(usage: TokenUsage?) -> [UInt8]
    /// A whole OpenAI completion, as the client's whole answer.
    func render(completion: JSONValue) -> [UInt8]
    /// How the client's stream says it failed after its first byte.
    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer?
}

/// An error an upstream reported inside its stream (after its 200).
struct UpstreamStreamError: Error, CustomStringConvertible {
    let message: String
    var description: String { "the upstream reported: \(message)" }
}

/// An answer translated through OpenAI chat: the upstream's events (or whole body) are read by
/// its dialect and written by the client's, event by event as they arrive.
final class TranslatedAnswer: AnswerAdapter {
    private var upstream: any UpstreamDialect
    private var client: any ClientDialect
    private var events = ServerSentEventReader()
    private var whole = ByteBuffer()
    let streaming: Bool
    /// The largest whole answer translated; past it the answer fails rather than filling memory.
    static let wholeLimit = 64 << 20

    init(upstream: any UpstreamDialect, client: any ClientDialect, streaming: Bool) {
        self.upstream = upstream
        self.client = client
        self.streaming = streaming
    }

    var usage: TokenUsage? { upstream.usage }
    var answerEnded: Bool { upstream.answerEnded }
    var isPassthrough: Bool { false }
    var streams: Bool { streaming }

    func contentType(upstream: String?) -> String? { client.contentType(streaming: streaming) }

    func feed(_ chunk: ByteBuffer) throws -> ByteBuffer? {
        guard streaming else {
            guard whole.readableBytes + chunk.readableBytes <= Self.wholeLimit else { throw UpstreamStreamError(message: "the answer exceeds \(Self.wholeLimit) bytes") }
            var chunk = chunk
            whole.writeBuffer(&chunk)
            return nil
        }
        var out: [UInt8] = []
        for event in try events.feed(chunk) {
            for openAI in try upstream.chunks(from: event) { out += client.render(chunk: openAI) }
        }
        return out.isEmpty ? nil : ByteBuffer(bytes: out)
    }

    func finish() throws -> ByteBuffer? {
        guard streaming else {
            let answer = try JSONValue.parse(whole.readableBytesView)
            return ByteBuffer(bytes: client.render(completion: try upstream.completion(from: answer)))
        }
        var out: [UInt8] = []
        if let last = events.finish() {
            for openAI in try upstream.chunks(from: last) { out += client.render(chunk: openAI) }
        }
        for openAI in upstream.finish() { out += client.render(chunk: openAI) }
        out += client.finish(usage: upstream.usage)
        return ByteBuffer(bytes: out)
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { client.errorTrailer(message, requestID: requestID) }
}
