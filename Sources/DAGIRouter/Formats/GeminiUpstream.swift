import MeshCore

/// Gemini's `generateContent` API as an upstream. Its `streamGenerateContent?alt=sse` stream is
/// a series of whole `GenerateContentResponse`s, each holding only the new parts, with no
/// `[DONE]`: the stream ends when the body does (the notes' §3, §4.3 and §4.4).
///
///     first chunk of a candidate      → delta {"role":"assistant","content":""}
///     {"text": T}                     → delta {"content": T}
///     {"text": T, "thought": true}    → delta {"reasoning_content": T} (DeepSeek's name)
///     {"functionCall": {name, args}}  → delta {"tool_calls":[{index, "id":"call_<n>", name, arguments}]}
///                                       (a call arrives whole, never as partial JSON)
///     finishReason                    → delta {} with the mapped reason, after that chunk's parts
///     promptFeedback.blockReason      → delta {} with "content_filter" (the prompt was refused)
///     {"error": {…}}                  → UpstreamStreamError
///
/// Candidates become choices by their `index` (a request with `candidateCount` gets several).
struct GeminiUpstream: UpstreamDialect {
    private(set) var usage: TokenUsage?
    /// Every candidate gave its finish reason.
    var answerEnded: Bool { !choices.isEmpty && choices.values.allSatisfy(\.finished) }
    private var envelope = OpenAIEnvelope()
    private var choices: [Int: Choice] = [:]

    /// What one candidate has said so far.
    private struct Choice {
        var toolCalls = 0
        var finished = false
    }

    /// Gemini allows up to 8 candidates; an index past that is not followed.
    static let maxCandidates = 8
    static let maxToolCalls = AnthropicUpstream.maxToolCalls

    mutating func chunks(from event: ServerSentEvent) throws -> [JSONValue] {
        guard !event.isDone, let response = try? JSONValue.parse(event.data), response.objectValue != nil else { return [] }
        if let error = response["error"] { throw UpstreamStreamError(message: Self.errorMessage(error)) }
        // Every chunk may carry the usage so far: the last one is final.
        if response["usageMetadata"]?.objectValue != nil { usage = TokenUsage(gemini: response["usageMetadata"]) }
        envelope.adopt(id: response["responseId"], model: response["modelVersion"])
        let candidates = response["candidates"]?.arrayValue ?? []
        if candidates.isEmpty, response["promptFeedback"]?["blockReason"]?.stringValue != nil {
            return finalChunk(choice: 0, reason: "content_filter")
        }
        var out: [JSONValue] = []
        for (position, candidate) in candidates.enumerated() {
            guard let index = Self.choiceIndex(candidate, position: position), choices[index]?.finished != true else { continue }
            out += opening(choice: index)
            for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
                if let call = part["functionCall"], call.objectValue != nil {
                    let tool = choices[index]?.toolCalls ?? 0
                    guard tool < Self.maxToolCalls else { throw UpstreamStreamError(message: "the answer has more than \(Self.maxToolCalls) tool calls") }
                    choices[index]?.toolCalls = tool + 1
                    var delta = Self.toolCall(call, number: tool).objectValue ?? [:]
                    delta["index"] = .int(Int64(tool))
                    out.append(envelope.chunk(choice: index, delta: ["tool_calls": [.object(delta)]]))
                } else if let text = part["text"]?.stringValue, !text.isEmpty {
                    let key = part["thought"]?.boolValue == true ? "reasoning_content" : "content"
                    out.append(envelope.chunk(choice: index, delta: [key: .string(text)]))
                }
            }
            if let reason = candidate["finishReason"]?.stringValue {
                let sawToolCall = (choices[index]?.toolCalls ?? 0) > 0
                out += finalChunk(choice: index, reason: Self.finishReason(reason, sawToolCall: sawToolCall))
            }
        }
        return out
    }

    /// Gemini has no end marker: a candidate the body ended on without a finish reason gets one.
    mutating func finish() -> [JSONValue] {
        var out: [JSONValue] = []
        for index in choices.keys.sorted() where choices[index]?.finished == false {
            let reason = (choices[index]?.toolCalls ?? 0) > 0 ? "tool_calls" : "stop"
            out += finalChunk(choice: index, reason: reason)
        }
        return out
    }

    mutating func completion(from answer: JSONValue) throws -> JSONValue {
        guard answer.objectValue != nil else { throw UpstreamStreamError(message: "the answer is not a JSON object") }
        if let error = answer["error"] { throw UpstreamStreamError(message: Self.errorMessage(error)) }
        envelope.adopt(id: answer["responseId"], model: answer["modelVersion"])
        let usage = TokenUsage(gemini: answer["usageMetadata"])
        self.usage = usage
        var choices: [JSONValue] = []
        var seen = Set<Int>()
        for (position, candidate) in (answer["candidates"]?.arrayValue ?? []).enumerated() {
            guard let index = Self.choiceIndex(candidate, position: position), seen.insert(index).inserted else { continue }
            var text = ""
            var reasoning = ""
            var calls: [JSONValue] = []
            for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
                if let call = part["functionCall"], call.objectValue != nil {
                    guard calls.count < Self.maxToolCalls else { throw UpstreamStreamError(message: "the answer has more than \(Self.maxToolCalls) tool calls") }
                    calls.append(Self.toolCall(call, number: calls.count))
                } else if let piece = part["text"]?.stringValue {
                    if part["thought"]?.boolValue == true { reasoning += piece } else { text += piece }
                }
            }
            let reason = Self.finishReason(candidate["finishReason"]?.stringValue ?? "STOP", sawToolCall: !calls.isEmpty)
            choices.append(OpenAIEnvelope.choice(index: index, text: text, reasoning: reasoning, toolCalls: calls, finishReason: reason))
        }
        if choices.isEmpty {
            // No candidates: a refused prompt (`promptFeedback.blockReason`), or nothing at all.
            let blocked = answer["promptFeedback"]?["blockReason"]?.stringValue != nil
            choices.append(OpenAIEnvelope.choice(index: 0, text: "", reasoning: "", toolCalls: [], finishReason: blocked ? "content_filter" : "stop"))
        }
        return envelope.completion(choices: choices, usage: usage)
    }

    // MARK: Pieces

    private mutating func opening(choice: Int) -> [JSONValue] {
        guard choices[choice] == nil else { return [] }
        choices[choice] = Choice()
        return [envelope.chunk(choice: choice, delta: ["role": "assistant", "content": ""])]
    }

    private mutating func finalChunk(choice: Int, reason: String) -> [JSONValue] {
        var out = opening(choice: choice)
        guard choices[choice]?.finished == false else { return out }
        choices[choice]?.finished = true
        out.append(envelope.chunk(choice: choice, delta: [:], finishReason: reason))
        return out
    }

    /// A candidate's choice index: its `index` (absent means its position), within the bound.
    private static func choiceIndex(_ candidate: JSONValue, position: Int) -> Int? {
        guard candidate.objectValue != nil else { return nil }
        let index: Int64
        if let given = candidate["index"] {
            guard let int = given.intValue else { return nil }
            index = int
        } else {
            index = Int64(position)
        }
        guard (0..<Int64(maxCandidates)).contains(index) else { return nil }
        return Int(index)
    }

    /// A whole function call as an OpenAI tool call. Gemini's calls rarely carry ids, so each
    /// gets a made-up `call_<n>`; its `args` object becomes the arguments' JSON text.
    static func toolCall(_ call: JSONValue, number: Int) -> JSONValue {
        OpenAIEnvelope.toolCall(id: "call_\(number)", name: call["name"]?.stringValue ?? "", arguments: call["args"] ?? [:])
    }

    // MARK: Mapping

    /// Gemini's `finishReason` as OpenAI's (the notes' §3.1). Gemini has no reason of its own
    /// for tool calls: a candidate that made one and stopped finished with `tool_calls`.
    static func finishReason(_ reason: String, sawToolCall: Bool) -> String {
        switch reason {
        case "STOP": return sawToolCall ? "tool_calls" : "stop"
        case "MAX_TOKENS": return "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION", "MODEL_ARMOR":
            return "content_filter"
        default: return "stop"  // malformed or unexpected calls, LANGUAGE, OTHER, and reasons added later
        }
    }

    /// `{"code":500,"message":…,"status":"INTERNAL"}` as one line.
    static func errorMessage(_ error: JSONValue) -> String {
        let message = error["message"]?.stringValue ?? error.stringValue ?? "an error"
        guard let status = error["status"]?.stringValue else { return message }
        return "\(status): \(message)"
    }
}
