import MeshCore
import MeshHTTP

/// Requests between OpenAI's chat API and Anthropic's Messages API (the notes' §2). This file
/// goes from OpenAI to Anthropic, for OpenAI clients served by Anthropic; the other way is in
/// `AnthropicTranslation+Messages.swift`. We send `anthropic-version: 2023-06-01`, under which
/// `temperature` and `top_p` are still accepted.
enum AnthropicTranslation {
    /// Media types Anthropic takes in an image block.
    static let imageTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    /// An OpenAI chat request as an Anthropic Messages request for `model`:
    /// - `system`/`developer` messages, wherever they are, become `system` text blocks in order;
    /// - assistant `tool_calls` become `tool_use` blocks with parsed `input` objects;
    /// - consecutive `tool` messages become ONE user message of `tool_result` blocks, which
    ///   come before any text of that turn; consecutive turns of one role are merged;
    /// - `max_tokens` is required by Anthropic: `defaultMaxTokens` when the client sent none.
    /// OpenAI fields with no Anthropic meaning (`seed`, penalties, `logprobs`…) are dropped.
    static func messagesRequest(fromOpenAI body: JSONValue, model: String, defaultMaxTokens: Int) throws -> JSONValue {
        let body = try RequestReading.object(body)
        if let n = try RequestReading.int(body["n"], "n", in: 1...128), n > 1 {
            throw RequestReading.unsupported("n", "Anthropic answers with one choice only", code: "unsupported_parameter")
        }
        guard let messages = try RequestReading.array(body["messages"], "messages") else { throw APIError.missingField("messages") }
        var request: [String: JSONValue] = ["model": .string(model)]
        var system: [JSONValue] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        for (index, message) in messages.enumerated() {
            let param = "messages[\(index)]"
            guard message.objectValue != nil else { throw RequestReading.invalid(param, "an object") }
            guard let role = try RequestReading.string(message["role"], "\(param).role") else { throw APIError.missingField("\(param).role") }
            switch role {
            case "system", "developer":
                system += try blocks(message["content"], "\(param).content").filter { $0["type"]?.stringValue == "text" }
            case "user":
                append(try blocks(message["content"], "\(param).content"), role: "user", to: &turns)
            case "assistant":
                var content = try blocks(message["content"], "\(param).content")
                for (number, call) in (try RequestReading.array(message["tool_calls"], "\(param).tool_calls") ?? []).enumerated() {
                    content.append(try toolUse(call, "\(param).tool_calls[\(number)]"))
                }
                append(content, role: "assistant", to: &turns)
            case "tool":
                append([try toolResult(message, param)], role: "user", to: &turns)
            default:
                throw RequestReading.unsupported("\(param).role", "Anthropic takes system, user, assistant and tool turns", code: "unsupported_role")
            }
        }
        request["messages"] = .array(turns.map { ["role": .string($0.role), "content": .array($0.blocks)] })
        if !system.isEmpty { request["system"] = .array(system) }
        let maxTokens = try RequestReading.int(body["max_completion_tokens"], "max_completion_tokens", in: 1...Int64(Int32.max))
            ?? RequestReading.int(body["max_tokens"], "max_tokens", in: 1...Int64(Int32.max))
        request["max_tokens"] = .int(maxTokens ?? Int64(max(1, defaultMaxTokens)))
        let stops = try RequestReading.stops(body["stop"], "stop", limit: 16)
        if !stops.isEmpty { request["stop_sequences"] = .array(stops.map(JSONValue.string)) }
        // OpenAI's temperature goes to 2, Anthropic's to 1.
        if let temperature = try RequestReading.number(body["temperature"], "temperature", in: 0...2) {
            request["temperature"] = .number(min(temperature, 1))
        }
        if let topP = try RequestReading.number(body["top_p"], "top_p", in: 0...1) { request["top_p"] = .number(topP) }
        if let user = try RequestReading.string(body["user"], "user") { request["metadata"] = ["user_id": .string(user)] }
        if let stream = try RequestReading.bool(body["stream"], "stream") { request["stream"] = .bool(stream) }
        try tools(body, into: &request)
        if let format = try responseFormat(body["response_format"]) { request["output_config"] = ["format": format] }
        return .object(request)
    }

    // MARK: Messages

    /// Adds a turn's blocks, merging them into the previous turn of the same role. Tool results
    /// go before the text already in that turn: Anthropic wants them first.
    private static func append(_ blocks: [JSONValue], role: String, to turns: inout [(role: String, blocks: [JSONValue])]) {
        guard !blocks.isEmpty else { return }
        guard let last = turns.indices.last, turns[last].role == role else {
            turns.append((role, blocks))
            return
        }
        let results = blocks.filter { $0["type"]?.stringValue == "tool_result" }
        let others = blocks.filter { $0["type"]?.stringValue != "tool_result" }
        let position = turns[last].blocks.firstIndex { $0["type"]?.stringValue != "tool_result" } ?? turns[last].blocks.endIndex
        turns[last].blocks.insert(contentsOf: results, at: position)
        turns[last].blocks += others
    }

    /// A message's content as Anthropic content blocks; empty text (which Anthropic refuses)
    /// is left out.
    static func blocks(_ content: JSONValue?, _ param: String) throws -> [JSONValue] {
        guard let content, content != .null else { return [] }
        if let text = content.stringValue { return text.isEmpty ? [] : [["type": "text", "text": .string(text)]] }
        guard let parts = content.arrayValue else { throw RequestReading.invalid(param, "a string or an array of content parts") }
        var blocks: [JSONValue] = []
        for (index, part) in parts.enumerated() {
            let param = "\(param)[\(index)]"
            switch part["type"]?.stringValue {
            case "text":
                guard let text = part["text"]?.stringValue else { throw RequestReading.invalid("\(param).text", "a string") }
                if !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]) }
            case "refusal":
                if let text = part["refusal"]?.stringValue, !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]) }
            case "image_url":
                guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else {
                    throw RequestReading.invalid("\(param).image_url.url", "a string")
                }
                blocks.append(try image(url, "\(param).image_url.url"))
            case "file":
                blocks.append(try document(part["file"], "\(param).file"))
            default:
                throw RequestReading.unsupported("\(param).type", "Anthropic takes text, image_url and file parts", code: "unsupported_content_part")
            }
        }
        return blocks
    }

    private static func image(_ url: String, _ param: String) throws -> JSONValue {
        if let (mediaType, data) = RequestReading.dataURL(url) {
            guard imageTypes.contains(mediaType) else {
                throw RequestReading.unsupported(param, "Anthropic takes JPEG, PNG, GIF and WebP images", code: "unsupported_image_type")
            }
            return ["type": "image", "source": ["type": "base64", "media_type": .string(mediaType), "data": .string(data)]]
        }
        guard RequestReading.isWebURL(url) else {
            throw RequestReading.unsupported(param, "an image is a base64 data URL or a web URL", code: "invalid_image_url")
        }
        return ["type": "image", "source": ["type": "url", "url": .string(url)]]
    }

    private static func document(_ file: JSONValue?, _ param: String) throws -> JSONValue {
        guard let url = file?["file_data"]?.stringValue, let (mediaType, data) = RequestReading.dataURL(url), mediaType == "application/pdf" else {
            throw RequestReading.unsupported("\(param).file_data", "Anthropic takes files as PDF data URLs", code: "unsupported_file")
        }
        return ["type": "document", "source": ["type": "base64", "media_type": "application/pdf", "data": .string(data)]]
    }

    private static func toolUse(_ call: JSONValue, _ param: String) throws -> JSONValue {
        guard let id = try RequestReading.string(call["id"], "\(param).id"), !id.isEmpty else { throw APIError.missingField("\(param).id") }
        guard let name = try RequestReading.string(call["function"]?["name"], "\(param).function.name") else {
            throw APIError.missingField("\(param).function.name")
        }
        let input = try RequestReading.arguments(call["function"]?["arguments"], "\(param).function.arguments")
        return ["type": "tool_use", "id": .string(cleanID(id)), "name": .string(name), "input": input]
    }

    private static func toolResult(_ message: JSONValue, _ param: String) throws -> JSONValue {
        guard let id = try RequestReading.string(message["tool_call_id"], "\(param).tool_call_id"), !id.isEmpty else {
            throw APIError.missingField("\(param).tool_call_id")
        }
        var result: [String: JSONValue] = ["type": "tool_result", "tool_use_id": .string(cleanID(id))]
        let content = try blocks(message["content"], "\(param).content")
        if !content.isEmpty { result["content"] = .array(content) }
        return .object(result)
    }

    /// Anthropic's tool ids match `^[a-zA-Z0-9_-]+$`; any other character of a foreign id becomes
    /// `_`, the same way for a call and its result so they still pair.
    static func cleanID(_ id: String) -> String {
        String(String.UnicodeScalarView(id.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-") ? scalar : "_"
        }))
    }

    // MARK: Tools and formats

    private static func tools(_ body: [String: JSONValue], into request: inout [String: JSONValue]) throws {
        let tools = try RequestReading.array(body["tools"], "tools") ?? []
        guard !tools.isEmpty else { return }
        request["tools"] = .array(try tools.enumerated().map { index, tool in
            let function = try RequestReading.functionTool(tool, index: index)
            var out: [String: JSONValue] = ["name": .string(function.name)]
            if let description = function.description { out["description"] = .string(description) }
            out["input_schema"] = function.parameters.map(JSONValue.object) ?? ["type": "object", "properties": [:]]
            if let strict = function.strict { out["strict"] = .bool(strict) }
            return .object(out)
        })
        var choice = try toolChoice(body["tool_choice"])
        if try RequestReading.bool(body["parallel_tool_calls"], "parallel_tool_calls") == false, choice?["type"]?.stringValue != "none" {
            var object = choice?.objectValue ?? ["type": "auto"]
            object["disable_parallel_tool_use"] = true
            choice = .object(object)
        }
        if let choice { request["tool_choice"] = choice }
    }

    private static func toolChoice(_ value: JSONValue?) throws -> JSONValue? {
        guard let value, value != .null else { return nil }
        switch value.stringValue {
        case "auto": return ["type": "auto"]
        case "none": return ["type": "none"]
        case "required": return ["type": "any"]
        default:
            guard value["type"]?.stringValue == "function", let name = value["function"]?["name"]?.stringValue else {
                throw RequestReading.invalid("tool_choice", "auto, none, required or {\"type\":\"function\",\"function\":{\"name\":…}}")
            }
            return ["type": "tool", "name": .string(name)]
        }
    }

    /// `json_schema` becomes Anthropic's structured output format; `json_object` and `text`
    /// have no equivalent and are dropped.
    private static func responseFormat(_ value: JSONValue?) throws -> JSONValue? {
        guard let value, value != .null else { return nil }
        switch value["type"]?.stringValue {
        case "json_schema":
            guard let schema = value["json_schema"]?["schema"], schema.objectValue != nil else {
                throw RequestReading.invalid("response_format.json_schema.schema", "an object")
            }
            return ["type": "json_schema", "schema": schema]
        case "json_object", "text": return nil
        default: throw RequestReading.invalid("response_format.type", "text, json_object or json_schema")
        }
    }
}
