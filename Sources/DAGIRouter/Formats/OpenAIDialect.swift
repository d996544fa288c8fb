import MeshCore
import NIOCore

/// OpenAI's chat API as an upstream (llama-server, Ollama's /v1, OpenAI, DeepSeek): its chunks
/// already are the common form. The usage chunk is kept aside (the client dialect reports it
/// its own way), and an in-stream error ends the answer.
struct OpenAIUpstream: UpstreamDialect {
    private(set) var usage: TokenUsage?
    /// The usage chunk comes last.
    var answerEnded: Bool { usage != nil }

    mutating func chunks(from event: ServerSentEvent) throws -> [JSONValue] {
        guard !event.isDone, let chunk = try? JSONValue.parse(event.data) else { return [] }
        if let error = chunk["error"] {
            throw UpstreamStreamError(message: error["message"]?.stringValue ?? error.stringValue ?? "an error")
        }
        if let found = TokenUsage(openAI: chunk["usage"]) { usage = found }
        if chunk["choices"]?.arrayValue?.isEmpty ?? true { return [] }
        return [chunk]
    }

    mutating func finish() -> [JSONValue] { [] }

    mutating func completion(from answer: JSONValue) throws -> JSONValue {
        usage = TokenUsage(openAI: answer["usage"])
        return answer
    }
}

/// OpenAI's chat API as the client's: server-sent events ending in `[DONE]`, the usage chunk
/// only if the client asked for it (`stream_options.include_usage`).
struct OpenAIClient: ClientDialect {
    let includeUsage: Bool
    /// The name the client asked for, put in every chunk (not a provider's dated id).
    let model: String
    private var id = "chatcmpl-dagi"
    private var created: Int64 = 0

    init(includeUsage: Bool, model: String) {
        self.includeUsage = includeUsage
        self.model = model
    }

    func contentType(streaming: Bool) -> String { streaming ? "text/event-stream" : "application/json" }

    mutating func render(chunk: JSONValue) -> [UInt8] {
        guard case .object(var object) = chunk else { return [] }
        if let given = object["id"]?.stringValue { id = given }
        if let given = object["created"]?.intValue { created = given }
        object["model"] = .string(model)
        object["object"] = "chat.completion.chunk"
        return Self.event(.object(object))
    }

    mutating func finish(usage: TokenUsage?) -> [UInt8] {
        var out: [UInt8] = []
        if includeUsage, let usage {
            out += Self.event([
                "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
                "choices": [], "usage": usage.openAI,
            ])
        }
        return out + Array("data: [DONE]\n\n".utf8)
    }

    func render(completion: JSONValue) -> [UInt8] {
        guard case .object(var object) = completion else { return completion.serialized() }
        object["model"] = .string(model)
        return JSONValue.object(object).serialized()
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? {
        StreamFormat.serverSentEvents.errorTrailer(message, requestID: requestID)
    }

    static func event(_ value: JSONValue) -> [UInt8] { Array("data: ".utf8) + value.serialized() + [0x0a, 0x0a] }
}
