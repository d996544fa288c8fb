import MeshCore
import NIOCore

/// Anthropic's Messages API as the client's, served from OpenAI chat. A stream is Anthropic's
/// full event sequence (the notes' §4.2 and §4.4):
///
///     message_start                       first, with our `msg_…` id and the model asked for
///     content_block_start {text}          at the first text delta
///     content_block_delta text_delta      each text delta
///     content_block_start {tool_use}      at each new OpenAI tool call index (closing the open block)
///     content_block_delta input_json_delta each argument piece
///     content_block_stop                  when another block opens, at the finish reason, or at the end
///     message_delta                       stop_reason and usage, once the stream ended
///     message_stop
///
/// The usage is sent in `message_delta` rather than `message_start`: OpenAI reports it after the
/// finish reason, when `message_start` is long gone, and Anthropic's SDKs take the input
/// figures from `message_delta` when it has them.
struct AnthropicClient: ClientDialect {
    /// The name the client asked for (not a provider's dated id).
    let model: String
    let id: String
    private var started = false
    private var finished = false
    private var blocks = 0
    private var open: (index: Int, isText: Bool)?
    /// OpenAI tool call index → Anthropic block index.
    private var toolBlocks: [Int64: Int] = [:]
    private var finishReason: String?

    /// Most tool calls turned into blocks; an upstream's further ones are not followed.
    static let maxToolCalls = AnthropicUpstream.maxToolCalls

    init(model: String, id: String = AnthropicClient.newMessageID()) {
        self.model = model
        self.id = id
    }

    func contentType(streaming: Bool) -> String { streaming ? "text/event-stream" : "application/json" }

    mutating func render(chunk: JSONValue) -> [UInt8] {
        guard !finished else { return [] }
        var out = start()
        guard let choice = chunk["choices"]?.arrayValue?.first else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty {
            if open?.isText != true { out += openBlock(["type": "text", "text": ""], isText: true) }
            out += Self.event("content_block_delta", [
                "type": "content_block_delta", "index": .int(Int64(open?.index ?? 0)), "delta": ["type": "text_delta", "text": .string(text)],
            ])
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            out += toolCall(call)
        }
        if let reason = choice["finish_reason"]?.stringValue {
            finishReason = reason
            out += closeBlock()
        }
        return out
    }

    mutating func finish(usage: TokenUsage?) -> [UInt8] {
        guard !finished else { return [] }
        var out = start()
        out += closeBlock()
        finished = true
        var figures: [String: JSONValue] = ["output_tokens": .int(usage?.completion ?? 0)]
        if let usage { figures.merge(Self.inputFigures(usage)) { $1 } }
        out += Self.event("message_delta", [
            "type": "message_delta", "delta": ["stop_reason": .string(stopReason), "stop_sequence": .null], "usage": .object(figures),
        ])
        return out + Self.event("message_stop", ["type": "message_stop"])
    }

    func render(completion: JSONValue) -> [UInt8] {
        let choice = completion["choices"]?.arrayValue?.first
        let message = choice?["message"]
        var content: [JSONValue] = []
        if let text = message?["content"]?.stringValue, !text.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        let calls = message?["tool_calls"]?.arrayValue ?? []
        for (number, call) in calls.prefix(Self.maxToolCalls).enumerated() {
            let arguments = call["function"]?["arguments"]
            content.append([
                "type": "tool_use", "id": .string(Self.toolID(call["id"], number: number)),
                "name": .string(call["function"]?["name"]?.stringValue ?? ""), "input": Self.input(arguments),
            ])
        }
        var figures = Self.inputFigures(TokenUsage(openAI: completion["usage"]) ?? TokenUsage())
        figures["output_tokens"] = .int(TokenUsage(openAI: completion["usage"])?.completion ?? 0)
        let reason = Self.stopReason(choice?["finish_reason"]?.stringValue, sawToolCall: !calls.isEmpty)
        let answer: JSONValue = [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": .array(content),
            "stop_reason": .string(reason), "stop_sequence": .null, "usage": .object(figures),
        ]
        return answer.serialized()
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? {
        let error: JSONValue = ["type": "error", "error": ["type": "api_error", "message": .string(message)], "request_id": .string(requestID)]
        return ByteBuffer(bytes: Self.event("error", error))
    }

    // MARK: Blocks

    private mutating func start() -> [UInt8] {
        guard !started else { return [] }
        started = true
        return Self.event("message_start", [
            "type": "message_start",
            "message": [
                "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
                "stop_reason": .null, "stop_sequence": .null, "usage": ["input_tokens": 0, "output_tokens": 0],
            ],
        ])
    }

    private mutating func toolCall(_ call: JSONValue) -> [UInt8] {
        let index = call["index"]?.intValue ?? 0
        var out: [UInt8] = []
        let block: Int
        if let known = toolBlocks[index] {
            block = known
        } else {
            guard toolBlocks.count < Self.maxToolCalls else { return [] }
            out += openBlock([
                "type": "tool_use", "id": .string(Self.toolID(call["id"], number: toolBlocks.count)),
                "name": .string(call["function"]?["name"]?.stringValue ?? ""), "input": [:],
            ], isText: false)
            block = open?.index ?? 0
            toolBlocks[index] = block
        }
        // Pieces of an earlier call (OpenAI does not interleave calls, but nothing forbids it) go
        // to that call's block by its index rather than being lost.
        if let piece = call["function"]?["arguments"]?.stringValue, !piece.isEmpty {
            out += Self.event("content_block_delta", [
                "type": "content_block_delta", "index": .int(Int64(block)), "delta": ["type": "input_json_delta", "partial_json": .string(piece)],
            ])
        }
        return out
    }

    private mutating func openBlock(_ block: JSONValue, isText: Bool) -> [UInt8] {
        var out = closeBlock()
        open = (blocks, isText)
        out += Self.event("content_block_start", ["type": "content_block_start", "index": .int(Int64(blocks)), "content_block": block])
        blocks += 1
        return out
    }

    private mutating func closeBlock() -> [UInt8] {
        guard let block = open else { return [] }
        open = nil
        return Self.event("content_block_stop", ["type": "content_block_stop", "index": .int(Int64(block.index))])
    }

    private var stopReason: String { Self.stopReason(finishReason, sawToolCall: !toolBlocks.isEmpty) }

    // MARK: Mapping

    /// OpenAI's `finish_reason` as Anthropic's `stop_reason` (the notes' §3.1). An answer that
    /// called tools and then said only `stop` (some servers do) still asks for the tools' results.
    static func stopReason(_ finishReason: String?, sawToolCall: Bool) -> String {
        switch finishReason {
        case "length": return "max_tokens"
        case "tool_calls", "function_call": return "tool_use"
        case "content_filter": return "refusal"
        default: return sawToolCall ? "tool_use" : "end_turn"
        }
    }

    /// Anthropic's input figures: `input_tokens` excludes both the cache reads and the writes.
    static func inputFigures(_ usage: TokenUsage) -> [String: JSONValue] {
        let uncached = max(0, usage.prompt.saturatingMinus(usage.cached).saturatingMinus(usage.cacheWrite))
        return [
            "input_tokens": .int(uncached), "cache_read_input_tokens": .int(usage.cached),
            "cache_creation_input_tokens": .int(usage.cacheWrite),
        ]
    }

    /// A tool call's arguments as Anthropic's `input` object. Text that is not a JSON object
    /// (a model's malformed call) becomes `{}`: Anthropic clients can only take an object.
    static func input(_ arguments: JSONValue?) -> JSONValue {
        if arguments?.objectValue != nil { return arguments! }
        guard let text = arguments?.stringValue, let parsed = try? JSONValue.parse(Array(text.utf8)), parsed.objectValue != nil else { return [:] }
        return parsed
    }

    /// Anthropic's tool ids match `^[a-zA-Z0-9_-]+$`: anything else in an upstream's id becomes `_`.
    static func toolID(_ given: JSONValue?, number: Int) -> String {
        guard let given = given?.stringValue, !given.isEmpty else { return "toolu_dagi_\(number)" }
        return AnthropicTranslation.cleanID(given)
    }

    /// `msg_` and 24 random letters and digits, like Anthropic's own.
    static func newMessageID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return "msg_" + String((0..<24).map { _ in alphabet.randomElement()! })
    }

    static func event(_ name: String, _ data: JSONValue) -> [UInt8] {
        Array("event: \(name)\ndata: ".utf8) + data.serialized() + [0x0a, 0x0a]
    }
}
