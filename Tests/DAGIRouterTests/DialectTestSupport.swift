import MeshCore
import NIOCore
@testable import DAGIRouter

/// Runs `bytes` through a fresh answer in pieces of `cut` bytes, as a relay would, and returns
/// what the client got and the answer (for its usage).
func translate(_ bytes: [UInt8], cut: Int, _ make: () -> TranslatedAnswer) throws -> (output: [UInt8], answer: TranslatedAnswer) {
    let answer = make()
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let end = min(bytes.count, index + cut)
        if let piece = try answer.feed(ByteBuffer(bytes: bytes[index..<end])) { out += Array(piece.readableBytesView) }
        index = end
    }
    if let last = try answer.finish() { out += Array(last.readableBytesView) }
    return (out, answer)
}

/// Every server-sent event in `bytes`, one `data:` line each (as the router and the providers
/// write them); read plainly here, as the reader's byte loop is slow in debug builds and the
/// tests cut each stream at every size.
func events(_ bytes: [UInt8]) throws -> [ServerSentEvent] {
    try bytes.split(separator: 0x0a, omittingEmptySubsequences: false).reduce(into: [ServerSentEvent(name: nil, data: [])]) { all, line in
        let line = line.last == 0x0d ? line.dropLast() : line
        if line.isEmpty {
            if all[all.count - 1] != ServerSentEvent(name: nil, data: []) { all.append(ServerSentEvent(name: nil, data: [])) }
        } else if line.starts(with: "event: ".utf8) {
            all[all.count - 1].name = String(decoding: line.dropFirst(7), as: UTF8.self)
        } else if line.starts(with: "data: ".utf8) {
            guard all[all.count - 1].data.isEmpty else { throw StreamViolation("an event with two data lines") }
            all[all.count - 1].data = Array(line.dropFirst(6))
        } else {
            throw StreamViolation("an unexpected line: \(String(decoding: line, as: UTF8.self))")
        }
    }.filter { $0 != ServerSentEvent(name: nil, data: []) }
}

/// The JSON of every OpenAI event before `[DONE]`; fails unless the stream ends with `[DONE]`.
func openAIChunks(_ bytes: [UInt8]) throws -> [JSONValue] {
    let all = try events(bytes)
    guard all.last?.isDone == true else { throw StreamViolation("the stream does not end with [DONE]") }
    return try all.dropLast().map { try JSONValue.parse($0.data) }
}

/// What an OpenAI client library puts together from chunks: the text, the reasoning, each tool
/// call (by index) with its arguments concatenated, the finish reason and the usage.
struct OpenAIStreamSummary {
    var roles: [String] = []
    var text = ""
    var reasoning = ""
    var calls: [Int: (id: String?, name: String?, arguments: String)] = [:]
    var finishReasons: [String] = []
    var usage: JSONValue?
    var models: Set<String> = []

    init(_ chunks: [JSONValue]) throws {
        for chunk in chunks {
            if let model = chunk["model"]?.stringValue { models.insert(model) }
            if let found = chunk["usage"], found != .null { usage = found }
            for choice in chunk["choices"]?.arrayValue ?? [] {
                let delta = choice["delta"]
                if let role = delta?["role"]?.stringValue { roles.append(role) }
                text += delta?["content"]?.stringValue ?? ""
                reasoning += delta?["reasoning_content"]?.stringValue ?? ""
                for call in delta?["tool_calls"]?.arrayValue ?? [] {
                    guard let index = call["index"]?.intValue.map(Int.init) else { throw StreamViolation("a tool call delta without index") }
                    var entry = calls[index] ?? (nil, nil, "")
                    if let id = call["id"]?.stringValue {
                        guard entry.id == nil else { throw StreamViolation("tool call \(index) got a second id") }
                        entry.id = id
                    }
                    if let name = call["function"]?["name"]?.stringValue { entry.name = name }
                    entry.arguments += call["function"]?["arguments"]?.stringValue ?? ""
                    calls[index] = entry
                }
                if let reason = choice["finish_reason"]?.stringValue { finishReasons.append(reason) }
            }
        }
    }
}

/// Rebuilds an Anthropic message from its events as Anthropic's SDKs do, checking on the way
/// the order the API promises: `message_start` first; each block started (at the next index)
/// before its deltas and stopped before the next starts; `message_delta` after every block;
/// `message_stop` last. Each event's name equals its JSON `type`.
func anthropicMessage(_ bytes: [UInt8]) throws -> JSONValue {
    var message: [String: JSONValue]?
    var blocks: [[String: JSONValue]] = []
    var partialJSON: [Int: String] = [:]
    var open: Int?
    var stopped = false
    for event in try events(bytes) {
        let data = try JSONValue.parse(event.data)
        guard let type = data["type"]?.stringValue, type == event.name else { throw StreamViolation("event \(event.name ?? "-") has type \(data["type"] ?? "-")") }
        guard !stopped else { throw StreamViolation("\(type) after message_stop") }
        guard type == "message_start" || message != nil else { throw StreamViolation("\(type) before message_start") }
        let index = data["index"]?.intValue.map(Int.init)
        switch type {
        case "message_start":
            guard message == nil else { throw StreamViolation("a second message_start") }
            message = data["message"]?.objectValue
        case "content_block_start":
            guard open == nil, index == blocks.count, let block = data["content_block"]?.objectValue else { throw StreamViolation("block \(index ?? -1) started out of order") }
            blocks.append(block)
            open = index
        case "content_block_delta":
            guard let index, index == open else { throw StreamViolation("a delta for block \(index ?? -1), open: \(open ?? -1)") }
            switch data["delta"]?["type"]?.stringValue {
            case "text_delta": blocks[index]["text"] = .string((blocks[index]["text"]?.stringValue ?? "") + (data["delta"]?["text"]?.stringValue ?? ""))
            case "input_json_delta": partialJSON[index, default: ""] += data["delta"]?["partial_json"]?.stringValue ?? ""
            default: throw StreamViolation("an unknown delta")
            }
        case "content_block_stop":
            guard let index, index == open else { throw StreamViolation("block \(index ?? -1) stopped while \(open ?? -1) is open") }
            open = nil
        case "message_delta":
            guard open == nil else { throw StreamViolation("message_delta with block \(open!) open") }
            for (key, value) in data["delta"]?.objectValue ?? [:] { message?[key] = value }
            var usage = message?["usage"]?.objectValue ?? [:]
            usage.merge(data["usage"]?.objectValue ?? [:]) { $1 }
            message?["usage"] = .object(usage)
        case "message_stop":
            stopped = true
        default:
            throw StreamViolation("an unexpected event \(type)")
        }
    }
    guard stopped, var message else { throw StreamViolation("no message_stop") }
    for (index, text) in partialJSON { blocks[index]["input"] = text.isEmpty ? [:] : try JSONValue.parse(Array(text.utf8)) }
    message["content"] = .array(blocks.map(JSONValue.object))
    return .object(message)
}

struct StreamViolation: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One event for an upstream dialect, as the reader would hand it over.
func event(_ data: String, name: String? = nil) -> ServerSentEvent {
    ServerSentEvent(name: name, data: Array(data.utf8))
}

extension [UInt8] {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension JSONValue {
    /// An array's element, or nil (tests read chunks as `chunk["choices"]?[0]?["delta"]`).
    subscript(_ index: Int) -> JSONValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}
