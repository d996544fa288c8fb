import MeshCore
import MeshHTTP

/// From Anthropic to OpenAI: a request of an Anthropic Messages client, as the OpenAI chat
/// request an OpenAI-shaped upstream (llama-server, OpenAI, DeepSeek) takes.
extension AnthropicTranslation {
    /// An Anthropic Messages request as an OpenAI chat request:
    /// - `system` (a string or text blocks) becomes one system message;
    /// - a user turn's `tool_result` blocks become `tool` messages, in order, before the rest of
    ///   that turn (its text and images) as a user message — images a tool returned go there too,
    ///   since OpenAI tool messages hold text only;
    /// - assistant `tool_use` blocks become `tool_calls` with their `input` as JSON text;
    ///   thinking blocks are dropped (an OpenAI-shaped upstream has no use for them);
    /// - a stream asks for the usage chunk (`stream_options.include_usage`), which the
    ///   Anthropic client's final `message_delta` needs.
    static func openAIRequest(fromMessages body: JSONValue) throws -> JSONValue {
        let body = try RequestReading.object(body)
        guard let messages = try RequestReading.array(body["messages"], "messages") else { throw APIError.missingField("messages") }
        var out: [JSONValue] = []
        if let system = try systemText(body["system"]), !system.isEmpty { out.append(["role": "system", "content": .string(system)]) }
        for (index, message) in messages.enumerated() {
            let param = "messages[\(index)]"
            guard message.objectValue != nil else { throw RequestReading.invalid(param, "an object") }
            switch try RequestReading.string(message["role"], "\(param).role") {
            case "user": out += try userMessages(message["content"], "\(param).content")
            case "assistant": out.append(try assistantMessage(message["content"], "\(param).content"))
            case nil: throw APIError.missingField("\(param).role")
            default: throw RequestReading.unsupported("\(param).role", "Anthropic messages are user or assistant turns", code: "unsupported_role")
            }
        }
        var request: [String: JSONValue] = ["messages": .array(out)]
        if let model = body["model"]?.stringValue { request["model"] = .string(model) }
        if let maxTokens = try RequestReading.int(body["max_tokens"], "max_tokens", in: 1...Int64(Int32.max)) { request["max_tokens"] = .int(maxTokens) }
        if let stops = try RequestReading.array(body["stop_sequences"], "stop_sequences") {
            let strings = try stops.enumerated().map { index, stop in
                guard let string = stop.stringValue else { throw RequestReading.invalid("stop_sequences[\(index)]", "a string") }
                return JSONValue.string(string)
            }
            if !strings.isEmpty { request["stop"] = .array(strings) }
        }
        if let temperature = try RequestReading.number(body["temperature"], "temperature", in: 0...1) { request["temperature"] = .number(temperature) }
        if let topP = try RequestReading.number(body["top_p"], "top_p", in: 0...1) { request["top_p"] = .number(topP) }
        if try RequestReading.bool(body["stream"], "stream") == true {
            request["stream"] = true
            request["stream_options"] = ["include_usage": true]
        }
        if let user = try RequestReading.string(body["metadata"]?["user_id"], "metadata.user_id") { request["user"] = .string(user) }
        try openAITools(body, into: &request)
        if let format = body["output_config"]?["format"], format["type"]?.stringValue == "json_schema", let schema = format["schema"], schema.objectValue != nil {
            request["response_format"] = ["type": "json_schema", "json_schema": ["name": "response", "schema": schema]]
        }
        return .object(request)
    }

    private static func systemText(_ system: JSONValue?) throws -> String? {
        guard let system, system != .null else { return nil }
        if let text = system.stringValue { return text }
        guard let blocks = system.arrayValue else { throw RequestReading.invalid("system", "a string or an array of text blocks") }
        return try blocks.enumerated().map { index, block in
            guard block["type"]?.stringValue == "text", let text = block["text"]?.stringValue else {
                throw RequestReading.invalid("system[\(index)]", "a text block")
            }
            return text
        }.joined(separator: "\n\n")
    }

    /// A user turn: its tool results first (as `tool` messages), then what else it says.
    private static func userMessages(_ content: JSONValue?, _ param: String) throws -> [JSONValue] {
        if let text = content?.stringValue { return [["role": "user", "content": .string(text)]] }
        guard let blocks = content?.arrayValue else { throw RequestReading.invalid(param, "a string or an array of content blocks") }
        var results: [JSONValue] = []
        var parts: [JSONValue] = []
        for (index, block) in blocks.enumerated() {
            let param = "\(param)[\(index)]"
            if block["type"]?.stringValue == "tool_result" {
                guard let id = try RequestReading.string(block["tool_use_id"], "\(param).tool_use_id") else {
                    throw APIError.missingField("\(param).tool_use_id")
                }
                let (text, images) = try toolResultContent(block["content"], "\(param).content")
                results.append(["role": "tool", "tool_call_id": .string(id), "content": .string(text)])
                parts += images
            } else if let part = try openAIPart(block, param) {
                parts.append(part)
            }
        }
        guard !parts.isEmpty else { return results }
        // One text block reads best as plain content; anything richer stays a list of parts.
        if parts.count == 1, let text = parts[0]["text"]?.stringValue, parts[0]["type"]?.stringValue == "text" {
            return results + [["role": "user", "content": .string(text)]]
        }
        return results + [["role": "user", "content": .array(parts)]]
    }

    private static func assistantMessage(_ content: JSONValue?, _ param: String) throws -> JSONValue {
        if let text = content?.stringValue { return ["role": "assistant", "content": .string(text)] }
        guard let blocks = content?.arrayValue else { throw RequestReading.invalid(param, "a string or an array of content blocks") }
        var text = ""
        var calls: [JSONValue] = []
        for (index, block) in blocks.enumerated() {
            let param = "\(param)[\(index)]"
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use":
                guard let id = try RequestReading.string(block["id"], "\(param).id"), let name = try RequestReading.string(block["name"], "\(param).name") else {
                    throw APIError.missingField("\(param).id")
                }
                calls.append(OpenAIEnvelope.toolCall(id: id, name: name, arguments: block["input"] ?? [:]))
            case "thinking", "redacted_thinking": continue
            default:
                throw RequestReading.unsupported("\(param).type", "assistant turns translate text, tool_use and thinking blocks", code: "unsupported_content_block")
            }
        }
        var message: [String: JSONValue] = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        return .object(message)
    }

    /// A user block as an OpenAI content part (nil for blocks with no OpenAI meaning).
    private static func openAIPart(_ block: JSONValue, _ param: String) throws -> JSONValue? {
        switch block["type"]?.stringValue {
        case "text":
            guard let text = block["text"]?.stringValue else { throw RequestReading.invalid("\(param).text", "a string") }
            return ["type": "text", "text": .string(text)]
        case "image":
            return ["type": "image_url", "image_url": ["url": .string(try sourceURL(block["source"], "\(param).source"))]]
        case "document":
            let source = block["source"]
            if source?["type"]?.stringValue == "text", let text = source?["data"]?.stringValue { return ["type": "text", "text": .string(text)] }
            var file: [String: JSONValue] = ["file_data": .string(try sourceURL(source, "\(param).source"))]
            if let title = block["title"]?.stringValue { file["filename"] = .string(title) }
            return ["type": "file", "file": .object(file)]
        case "thinking", "redacted_thinking":
            return nil
        default:
            throw RequestReading.unsupported("\(param).type", "user turns translate text, image, document and tool_result blocks", code: "unsupported_content_block")
        }
    }

    /// An image or document source as a URL: base64 data becomes a data URL.
    private static func sourceURL(_ source: JSONValue?, _ param: String) throws -> String {
        switch source?["type"]?.stringValue {
        case "base64":
            guard let mediaType = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                throw RequestReading.invalid(param, "a base64 source with media_type and data")
            }
            return "data:\(mediaType);base64,\(data)"
        case "url":
            guard let url = source?["url"]?.stringValue else { throw RequestReading.invalid("\(param).url", "a string") }
            return url
        default:
            throw RequestReading.unsupported("\(param).type", "sources are base64 data or URLs", code: "unsupported_source")
        }
    }

    /// A tool result's text, and the images it held (which go to the user message after it).
    private static func toolResultContent(_ content: JSONValue?, _ param: String) throws -> (String, [JSONValue]) {
        guard let content, content != .null else { return ("", []) }
        if let text = content.stringValue { return (text, []) }
        guard let blocks = content.arrayValue else { throw RequestReading.invalid(param, "a string or an array of blocks") }
        var text: [String] = []
        var images: [JSONValue] = []
        for (index, block) in blocks.enumerated() {
            guard let part = try openAIPart(block, "\(param)[\(index)]") else { continue }
            if let piece = part["text"]?.stringValue { text.append(piece) } else { images.append(part) }
        }
        return (text.joined(separator: "\n"), images)
    }

    private static func openAITools(_ body: [String: JSONValue], into request: inout [String: JSONValue]) throws {
        let tools = try RequestReading.array(body["tools"], "tools") ?? []
        if !tools.isEmpty {
            request["tools"] = .array(try tools.enumerated().map { index, tool in
                let param = "tools[\(index)]"
                // Server tools (web search, code execution…) run at Anthropic: no OpenAI upstream has them.
                guard tool["type"]?.stringValue ?? "custom" == "custom" else {
                    throw RequestReading.unsupported("\(param).type", "only client tools with an input_schema can be translated", code: "unsupported_tool_type")
                }
                guard let name = try RequestReading.string(tool["name"], "\(param).name") else { throw APIError.missingField("\(param).name") }
                var function: [String: JSONValue] = ["name": .string(name)]
                if let description = tool["description"]?.stringValue { function["description"] = .string(description) }
                function["parameters"] = (try RequestReading.objectField(tool["input_schema"], "\(param).input_schema")).map(JSONValue.object)
                    ?? ["type": "object", "properties": [:]]
                if let strict = tool["strict"]?.boolValue { function["strict"] = .bool(strict) }
                return ["type": "function", "function": .object(function)]
            })
        }
        guard let choice = try RequestReading.objectField(body["tool_choice"], "tool_choice") else { return }
        switch choice["type"]?.stringValue {
        case "auto": request["tool_choice"] = "auto"
        case "any": request["tool_choice"] = "required"
        case "none": request["tool_choice"] = "none"
        case "tool":
            guard let name = choice["name"]?.stringValue else { throw APIError.missingField("tool_choice.name") }
            request["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
        default: throw RequestReading.invalid("tool_choice.type", "auto, any, none or tool")
        }
        if choice["disable_parallel_tool_use"]?.boolValue == true { request["parallel_tool_calls"] = false }
    }
}
