import MeshCore

/// Anthropic's Messages API as an upstream: its typed events read as OpenAI chat chunks, and a
/// whole `message` as one chat completion (the notes' §3, §4.2 and §4.4).
///
///     message_start                      → delta {"role":"assistant","content":""}
///     content_block_start  tool_use      → delta {"tool_calls":[{index, id, type, name, "arguments":""}]}
///     content_block_delta  text_delta    → delta {"content": text}
///                          input_json_delta → delta {"tool_calls":[{index, "arguments": piece}]}
///                          thinking_delta → delta {"reasoning_content": text} (DeepSeek's name)
///     message_delta                      → (stop reason and cumulative usage remembered)
///     message_stop                       → delta {} with the finish reason
///     error                              → UpstreamStreamError
///     ping, content_block_stop, others   → nothing
///
/// OpenAI's tool call `index` counts tool calls only; Anthropic's block `index` counts every
/// block (a text block usually comes first), hence the map between them.
struct AnthropicUpstream: UpstreamDialect {
    private(set) var usage: TokenUsage?
    /// `message_delta` carries the stop reason and the final usage.
    var answerEnded: Bool { stopReason != nil }
    private var envelope = OpenAIEnvelope()
    /// `message_start`'s usage fields, overwritten by each `message_delta`'s: those counts are
    /// cumulative, so the last ones are final, and a delta may leave out the input figures.
    private var usageFields: [String: JSONValue] = [:]
    private var toolOfBlock: [Int64: Int] = [:]
    private var stopReason: String?
    private var started = false
    private var finished = false

    /// Most tool calls in one answer; an upstream sending more is failed, not followed.
    static let maxToolCalls = 1024

    mutating func chunks(from event: ServerSentEvent) throws -> [JSONValue] {
        guard let object = try? JSONValue.parse(event.data), object.objectValue != nil else { return [] }
        // The JSON's `type` names the event (the `event:` line says the same and is the fallback).
        switch object["type"]?.stringValue ?? event.name {
        case "message_start":
            envelope.adopt(id: object["message"]?["id"], model: object["message"]?["model"])
            mergeUsage(object["message"]?["usage"])
            return opening()
        case "content_block_start": return try blockStart(object)
        case "content_block_delta": return blockDelta(object)
        case "message_delta":
            if let reason = object["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
            mergeUsage(object["usage"])
            return []
        case "message_stop": return finalChunk()
        case "error": throw UpstreamStreamError(message: Self.errorMessage(object))
        default: return []
        }
    }

    /// A stream that ended after `message_delta` said why but before `message_stop` still gets
    /// its finish reason. One that ended before that was cut short: no reason is made up for it.
    mutating func finish() -> [JSONValue] { stopReason != nil ? finalChunk() : [] }

    mutating func completion(from answer: JSONValue) throws -> JSONValue {
        guard answer.objectValue != nil else { throw UpstreamStreamError(message: "the answer is not a JSON object") }
        if answer["type"]?.stringValue == "error" { throw UpstreamStreamError(message: Self.errorMessage(answer)) }
        envelope.adopt(id: answer["id"], model: answer["model"])
        var text = ""
        var reasoning = ""
        var calls: [JSONValue] = []
        for block in answer["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "thinking": reasoning += block["thinking"]?.stringValue ?? ""
            case "tool_use":
                guard calls.count < Self.maxToolCalls else { throw Self.tooManyToolCalls }
                calls.append(OpenAIEnvelope.toolCall(
                    id: block["id"]?.stringValue ?? "call_\(calls.count)", name: block["name"]?.stringValue ?? "",
                    arguments: block["input"] ?? [:]))
            default: continue  // redacted thinking, server tool blocks, citations: nothing OpenAI shows
            }
        }
        let usage = TokenUsage(anthropic: answer["usage"])
        self.usage = usage
        let reason = Self.finishReason(answer["stop_reason"]?.stringValue)
        let choice = OpenAIEnvelope.choice(index: 0, text: text, reasoning: reasoning, toolCalls: calls, finishReason: reason)
        return envelope.completion(choices: [choice], usage: usage)
    }

    // MARK: Events

    private mutating func blockStart(_ event: JSONValue) throws -> [JSONValue] {
        guard !finished, let block = event["content_block"], let index = event["index"]?.intValue else { return [] }
        var out = opening()
        switch block["type"]?.stringValue {
        case "tool_use":
            guard toolOfBlock[index] == nil else { return out }
            guard toolOfBlock.count < Self.maxToolCalls else { throw Self.tooManyToolCalls }
            let tool = toolOfBlock.count
            toolOfBlock[index] = tool
            let call: JSONValue = [
                "index": .int(Int64(tool)), "id": .string(block["id"]?.stringValue ?? "call_\(tool)"), "type": "function",
                "function": ["name": .string(block["name"]?.stringValue ?? ""), "arguments": ""],
            ]
            out.append(envelope.chunk(delta: ["tool_calls": [call]]))
        case "text":
            // A text block starts empty; its text comes in deltas. Anything given here is kept.
            if let text = block["text"]?.stringValue, !text.isEmpty { out.append(envelope.chunk(delta: ["content": .string(text)])) }
        default:
            break
        }
        return out
    }

    private mutating func blockDelta(_ event: JSONValue) -> [JSONValue] {
        guard !finished, let delta = event["delta"] else { return [] }
        var out = opening()
        switch delta["type"]?.stringValue {
        case "text_delta":
            if let text = delta["text"]?.stringValue, !text.isEmpty { out.append(envelope.chunk(delta: ["content": .string(text)])) }
        case "input_json_delta":
            // The first piece may be empty; a piece for a block that never started is not a call.
            guard let index = event["index"]?.intValue, let tool = toolOfBlock[index],
                let piece = delta["partial_json"]?.stringValue, !piece.isEmpty
            else { break }
            out.append(envelope.chunk(delta: ["tool_calls": [["index": .int(Int64(tool)), "function": ["arguments": .string(piece)]]]]))
        case "thinking_delta":
            if let text = delta["thinking"]?.stringValue, !text.isEmpty {
                out.append(envelope.chunk(delta: ["reasoning_content": .string(text)]))
            }
        default:
            break  // signature and citation deltas have no OpenAI form
        }
        return out
    }

    /// The role delta, once, before anything else (even when `message_start` never came).
    private mutating func opening() -> [JSONValue] {
        guard !started else { return [] }
        started = true
        return [envelope.chunk(delta: ["role": "assistant", "content": ""])]
    }

    private mutating func finalChunk() -> [JSONValue] {
        guard !finished else { return [] }
        var out = opening()
        finished = true
        out.append(envelope.chunk(delta: [:], finishReason: Self.finishReason(stopReason)))
        return out
    }

    private mutating func mergeUsage(_ fields: JSONValue?) {
        guard let fields = fields?.objectValue else { return }
        usageFields.merge(fields) { $1 }
        usage = TokenUsage(anthropic: .object(usageFields))
    }

    // MARK: Mapping

    /// Anthropic's `stop_reason` as OpenAI's `finish_reason` (the notes' §3.1).
    static func finishReason(_ stopReason: String?) -> String {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": return "length"
        case "tool_use": return "tool_calls"
        case "refusal": return "content_filter"
        default: return "stop"  // end_turn, stop_sequence, pause_turn, none, and reasons added later
        }
    }

    /// `{"type":"error","error":{"type":…,"message":…}}` as one line.
    static func errorMessage(_ body: JSONValue) -> String {
        let error = body["error"]
        let message = error?["message"]?.stringValue ?? error?.stringValue ?? "an error"
        guard let type = error?["type"]?.stringValue else { return message }
        return "\(type): \(message)"
    }

    private static var tooManyToolCalls: UpstreamStreamError {
        UpstreamStreamError(message: "the answer has more than \(maxToolCalls) tool calls")
    }
}
