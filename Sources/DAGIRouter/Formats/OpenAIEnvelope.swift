import Foundation
import MeshCore

/// The envelope of the OpenAI chat chunks and completions an upstream dialect makes up from
/// another API's answer: one id, model and creation time for the whole answer, as OpenAI's own
/// chunks share them.
struct OpenAIEnvelope {
    private(set) var id = "chatcmpl-dagi"
    private(set) var model = ""
    let created: Int64

    /// Longest id or model name copied from an upstream: both are repeated in every chunk, so an
    /// upstream's megabyte-long id would otherwise be multiplied by the number of deltas.
    static let maxName = 256

    init(created: Int64 = Int64(Date().timeIntervalSince1970)) {
        self.created = created
    }

    /// Takes the upstream's id and model name when they are reasonable strings.
    mutating func adopt(id: JSONValue?, model: JSONValue?) {
        if let id = id?.stringValue, !id.isEmpty, id.utf8.count <= Self.maxName { self.id = id }
        if let model = model?.stringValue, model.utf8.count <= Self.maxName { self.model = model }
    }

    /// A `chat.completion.chunk` with one choice.
    func chunk(choice: Int = 0, delta: [String: JSONValue], finishReason: String? = nil) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [[
                "index": .int(Int64(choice)), "delta": .object(delta), "logprobs": .null,
                "finish_reason": finishReason.map(JSONValue.string) ?? .null,
            ]],
        ]
    }

    /// A `chat.completion` with these choices (each `{index, message, finish_reason}`).
    func completion(choices: [JSONValue], usage: TokenUsage?) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "chat.completion", "created": .int(created), "model": .string(model),
            "choices": .array(choices),
        ]
        if let usage { object["usage"] = usage.openAI }
        return .object(object)
    }

    /// One choice of a completion: the assistant's text (null when it only called tools), its
    /// tool calls and reasoning when there are any.
    static func choice(index: Int, text: String, reasoning: String, toolCalls: [JSONValue], finishReason: String) -> JSONValue {
        var message: [String: JSONValue] = [
            "role": "assistant", "content": text.isEmpty && !toolCalls.isEmpty ? .null : .string(text), "refusal": .null,
        ]
        if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
        if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
        return ["index": .int(Int64(index)), "message": .object(message), "logprobs": .null, "finish_reason": .string(finishReason)]
    }

    /// A whole tool call as OpenAI writes it: arguments as compact JSON text.
    static func toolCall(id: String, name: String, arguments: JSONValue) -> JSONValue {
        ["id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments.jsonString)]]
    }
}
