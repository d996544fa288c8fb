import MeshCore
import NIOCore

/// An OpenAI server-sent-event stream turned into Ollama's NDJSON stream, event by event: each
/// content delta becomes a line as soon as it arrives; the final line carries `done_reason`, the
/// token counts and the durations.
final class OllamaStreamAnswer: AnswerAdapter {
    private var events = ServerSentEventReader()
    private var finishReason: String?
    private var usage: JSONValue?
    private var timings: JSONValue?
    private var finished = false
    let endpoint: Endpoint
    let model: String
    let started: ContinuousClock.Instant
    let createdAt = OllamaTranslation.timestamp()

    init(endpoint: Endpoint, model: String, started: ContinuousClock.Instant) {
        self.endpoint = endpoint
        self.model = model
        self.started = started
    }

    func contentType(upstream: String?) -> String? { "application/x-ndjson" }
    var isPassthrough: Bool { false }
    var streams: Bool { true }

    func feed(_ chunk: ByteBuffer) throws -> ByteBuffer? {
        var out = ByteBuffer()
        for event in try events.feed(chunk) { write(event, into: &out) }
        return out
    }

    func finish() -> ByteBuffer? {
        var out = ByteBuffer()
        if let last = events.finish() { write(last, into: &out) }
        if !finished { out.writeBytes(finalLine()) }
        return out
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? {
        StreamFormat.ndjson.errorTrailer(message, requestID: requestID)
    }

    private func write(_ event: ServerSentEvent, into out: inout ByteBuffer) {
        if event.isDone {
            out.writeBytes(finalLine())
            return
        }
        guard let chunk = try? JSONValue.parse(event.data) else { return }
        out.writeBytes(translate(chunk))
    }

    private func translate(_ chunk: JSONValue) -> [UInt8] {
        if let usage = chunk["usage"], usage != .null { self.usage = usage }
        if let timings = chunk["timings"] { self.timings = timings }
        guard let choice = chunk["choices"]?.arrayValue?.first else { return [] }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        let delta = choice["delta"]
        let content = delta?["content"]?.stringValue ?? ""
        let calls = delta?["tool_calls"]?.arrayValue ?? []
        guard !content.isEmpty || !calls.isEmpty else { return [] }
        var line: [String: JSONValue] = ["model": .string(model), "created_at": .string(createdAt), "done": false]
        if endpoint == .ollamaGenerate {
            line["response"] = .string(content)
        } else {
            var message: [String: JSONValue] = ["role": "assistant", "content": .string(content)]
            if !calls.isEmpty { message["tool_calls"] = .array(calls.map(OllamaTranslation.ollamaToolCall)) }
            line["message"] = .object(message)
        }
        return JSONValue.object(line).serialized() + [0x0a]
    }

    private func finalLine() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        var line: [String: JSONValue] = [
            "model": .string(model), "created_at": .string(OllamaTranslation.timestamp()), "done": true,
            "done_reason": .string(OllamaTranslation.doneReason(finishReason)),
        ]
        if endpoint == .ollamaGenerate {
            line["response"] = ""
        } else {
            line["message"] = ["role": "assistant", "content": ""]
        }
        line.merge(OllamaTranslation.stats(usage: usage, timings: timings, total: ContinuousClock.now - started)) { $1 }
        return JSONValue.object(line).serialized() + [0x0a]
    }
}

/// A whole OpenAI answer (chat or embeddings) turned into Ollama's, once it is complete.
final class OllamaWholeAnswer: AnswerAdapter {
    /// The largest answer translated; past it the answer fails rather than filling memory.
    static let limit = 64 << 20
    private var collected = ByteBuffer()
    let endpoint: Endpoint
    let model: String
    let started: ContinuousClock.Instant

    struct TooLarge: Error, CustomStringConvertible {
        var description: String { "the model server's answer exceeds \(OllamaWholeAnswer.limit) bytes" }
    }

    init(endpoint: Endpoint, model: String, started: ContinuousClock.Instant) {
        self.endpoint = endpoint
        self.model = model
        self.started = started
    }

    func contentType(upstream: String?) -> String? { "application/json" }
    var isPassthrough: Bool { false }
    var streams: Bool { false }

    func feed(_ chunk: ByteBuffer) throws -> ByteBuffer? {
        guard collected.readableBytes + chunk.readableBytes <= Self.limit else { throw TooLarge() }
        var chunk = chunk
        collected.writeBuffer(&chunk)
        return nil
    }

    func finish() throws -> ByteBuffer? {
        let document = try JSONValue.parse(collected.readableBytesView)
        let total = ContinuousClock.now - started
        let translated = endpoint == .ollamaEmbed || endpoint == .ollamaEmbeddings
            ? OllamaTranslation.embedResponse(document, endpoint: endpoint, model: model, total: total)
            : OllamaTranslation.chatResponse(document, endpoint: endpoint, model: model, total: total)
        return ByteBuffer(bytes: translated.serialized())
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { nil }
}
