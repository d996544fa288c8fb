import MeshCore
import NIOCore

/// Ollama's API as the client's: NDJSON lines as the content arrives, and a final line with
/// `done_reason`, the token counts and the durations; a whole answer in Ollama's shape (chat,
/// generate or embeddings). See https://github.com/ollama/ollama/blob/main/docs/api.md.
struct OllamaClient: ClientDialect {
    let endpoint: Endpoint
    let model: String
    let started: ContinuousClock.Instant
    private let createdAt = OllamaTranslation.timestamp()
    private var finishReason: String?
    private var timings: JSONValue?
    private var finished = false

    init(endpoint: Endpoint, model: String, started: ContinuousClock.Instant) {
        self.endpoint = endpoint
        self.model = model
        self.started = started
    }

    func contentType(streaming: Bool) -> String { streaming ? "application/x-ndjson" : "application/json" }

    mutating func render(chunk: JSONValue) -> [UInt8] {
        // llama.cpp reports its timings on the last chunk; Ollama's durations come from them.
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

    mutating func finish(usage: TokenUsage?) -> [UInt8] {
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
        line.merge(OllamaTranslation.stats(usage: usage?.openAI, timings: timings, total: ContinuousClock.now - started)) { $1 }
        return JSONValue.object(line).serialized() + [0x0a]
    }

    func render(completion: JSONValue) -> [UInt8] {
        let total = ContinuousClock.now - started
        let translated = endpoint == .ollamaEmbed || endpoint == .ollamaEmbeddings
            ? OllamaTranslation.embedResponse(completion, endpoint: endpoint, model: model, total: total)
            : OllamaTranslation.chatResponse(completion, endpoint: endpoint, model: model, total: total)
        return translated.serialized()
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? {
        StreamFormat.ndjson.errorTrailer(message, requestID: requestID)
    }
}
