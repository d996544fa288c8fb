import MeshCore
import NIOCore

/// Turns an upstream's answer into the client's format, chunk by chunk, as the relay streams it.
/// One adapter per answer, confined to the relay's event loop.
protocol AnswerAdapter: AnyObject {
    /// The content type the client gets, given the upstream's.
    func contentType(upstream: String?) -> String?
    /// Upstream body bytes in, bytes for the client out (possibly none yet).
    func feed(_ chunk: ByteBuffer) throws -> ByteBuffer?
    /// The upstream ended cleanly: the last bytes for the client.
    func finish() throws -> ByteBuffer?
    /// The bytes that end the client's stream with an error after its first byte, or nil
    /// when the framing cannot carry one.
    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer?
    /// Whether bytes pass unchanged (the upstream's content length then still holds).
    var isPassthrough: Bool { get }
    /// Whether the client's answer streams (flushed chunk by chunk) rather than arriving whole.
    var streams: Bool { get }
    /// What the answer used, when the adapter read it (translated answers); passthrough
    /// answers are read by the relay's tap instead.
    var usage: TokenUsage? { get }
    /// Whether the upstream's answer reached its end, as the adapter read it (translated and
    /// observed answers; a passthrough answer's end is the relay tap's to see).
    var answerEnded: Bool { get }
}

/// Bytes relayed unchanged: a client and an upstream that speak the same API.
final class PassthroughAnswer: AnswerAdapter {
    private var format = StreamFormat.whole

    func contentType(upstream: String?) -> String? {
        format = StreamFormat(contentType: upstream)
        return upstream
    }

    func feed(_ chunk: ByteBuffer) -> ByteBuffer? { chunk }
    func finish() -> ByteBuffer? { nil }
    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { format.errorTrailer(message, requestID: requestID) }
    var isPassthrough: Bool { true }
    var streams: Bool { format != .whole }
    var usage: TokenUsage? { nil }
    var answerEnded: Bool { false }
}

/// Bytes relayed unchanged while the upstream's dialect reads them for the usage they report.
final class ObservedAnswer: AnswerAdapter {
    private let passthrough = PassthroughAnswer()
    private var dialect: any UpstreamDialect
    private var events = ServerSentEventReader()
    private var whole = ByteBuffer()
    private var streaming = true

    init(_ dialect: any UpstreamDialect) { self.dialect = dialect }

    func contentType(upstream: String?) -> String? {
        streaming = StreamFormat(contentType: upstream) == .serverSentEvents
        return passthrough.contentType(upstream: upstream)
    }

    func feed(_ chunk: ByteBuffer) -> ByteBuffer? {
        if streaming {
            // A malformed event only costs the reading, never the relay.
            for event in (try? events.feed(chunk)) ?? [] { _ = try? dialect.chunks(from: event) }
        } else if whole.readableBytes + chunk.readableBytes <= TranslatedAnswer.wholeLimit {
            var copy = chunk
            whole.writeBuffer(&copy)
        }
        return chunk
    }

    func finish() -> ByteBuffer? {
        if !streaming, let answer = try? JSONValue.parse(whole.readableBytesView) { _ = try? dialect.completion(from: answer) }
        return nil
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { passthrough.errorTrailer(message, requestID: requestID) }
    var isPassthrough: Bool { true }
    var streams: Bool { passthrough.streams }
    var usage: TokenUsage? { dialect.usage }
    var answerEnded: Bool { dialect.answerEnded }
}

/// A whole OpenAI answer relayed as it came except for its top-level `model`, which becomes
/// the name the client asked for (a model server may report its file's path, a provider a
/// dated id). One scan finds the field and reads `usage`, building nothing else: cheaper than
/// translating the answer (parsing it into a tree and writing it again).
final class RenamedAnswer: AnswerAdapter {
    let model: String
    private var whole = ByteBuffer()
    private(set) var usage: TokenUsage?
    private(set) var answerEnded = false

    init(model: String) { self.model = model }

    func contentType(upstream: String?) -> String? { upstream }

    func feed(_ chunk: ByteBuffer) throws -> ByteBuffer? {
        guard whole.readableBytes + chunk.readableBytes <= TranslatedAnswer.wholeLimit else {
            throw UpstreamStreamError(message: "the answer exceeds \(TranslatedAnswer.wholeLimit) bytes")
        }
        var chunk = chunk
        whole.writeBuffer(&chunk)
        return nil
    }

    func finish() throws -> ByteBuffer? {
        answerEnded = true
        let bytes = Array(whole.readableBytesView)
        var parser = JSONParser(bytes)
        var range: Range<Int>?
        do {
            try parser.forEachTopLevelField { key, parser in
                switch key {
                case "model": range = try parser.skipValue(depth: 1)
                case "usage": usage = TokenUsage(openAI: try parser.parseValue())
                default: try parser.skipValue(depth: 1)
                }
            }
        } catch {
            // Not an object we can read: relayed as it came.
            return whole
        }
        let name = JSONValue.string(model).serialized()
        guard let range, !bytes[range].elementsEqual(name) else { return whole }
        var out = ByteBuffer()
        out.reserveCapacity(bytes.count - range.count + name.count)
        out.writeBytes(bytes[..<range.lowerBound])
        out.writeBytes(name)
        out.writeBytes(bytes[range.upperBound...])
        return out
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { StreamFormat.whole.errorTrailer(message, requestID: requestID) }
    var isPassthrough: Bool { false }
    var streams: Bool { false }
}

/// Which adapter an answer needs; decided where the call is prepared, built on the relay's loop.
enum AnswerKind: Sendable {
    case passthrough
    /// Relayed unchanged, read along the way by `upstream`'s dialect for its usage (an API whose
    /// usage the relay's tap cannot read from the tail alone).
    case observed(upstream: WireFormat)
    /// An upstream answering in `upstream`'s API, for a client of another.
    case translated(upstream: WireFormat, client: ClientKind, stream: Bool)
    /// A whole OpenAI answer whose `model` becomes the name the client asked for.
    case renamed(model: String)

    func makeAdapter() -> any AnswerAdapter {
        switch self {
        case .passthrough: return PassthroughAnswer()
        case .observed(let upstream): return ObservedAnswer(upstream.makeUpstreamDialect())
        case .translated(let upstream, let client, let stream):
            return TranslatedAnswer(upstream: upstream.makeUpstreamDialect(), client: client.makeDialect(), streaming: stream)
        case .renamed(let model): return RenamedAnswer(model: model)
        }
    }
}
