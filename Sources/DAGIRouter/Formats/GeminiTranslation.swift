import MeshCore
import MeshHTTP

/// OpenAI chat requests as Gemini `generateContent` requests (the notes' §1 and §2). Gemini
/// rejects any field name it does not know, so the request is built from scratch: no OpenAI
/// name ever reaches its top level or `generationConfig`.
enum GeminiTranslation {
    /// Gemini takes at most this many stop sequences (OpenAI at most 4).
    static let maxStopSequences = 5
    static let maxCandidates = GeminiUpstream.maxCandidates

    /// The path for `model`: `/v1beta/models/{model}:generateContent`, or the streaming method
    /// with `alt=sse` (without it Gemini streams one JSON array, not events). The model id is
    /// percent-encoded so that no `/`, `?`, `#`, `:` or `..` in it can change the path.
    static func path(model: String, stream: Bool) -> String {
        let method = stream ? "streamGenerateContent?alt=sse" : "generateContent"
        return "/v1beta/models/\(encodeSegment(model)):\(method)"
    }

    /// Unreserved characters stay; every other byte is `%XX`, and so is a dot next to a dot.
    static func encodeSegment(_ segment: String) -> String {
        let bytes = Array(segment.utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            let isDot = byte == UInt8(ascii: ".")
            let dotted = isDot && ((index > 0 && bytes[index - 1] == byte) || (index + 1 < bytes.count && bytes[index + 1] == byte))
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: ".") where !dotted:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An OpenAI chat request as a Gemini request body:
    /// - `system`/`developer` messages become `systemInstruction`; roles become `user`/`model`;
    /// - assistant `tool_calls` become `functionCall` parts with `args` objects;
    /// - a `tool` message becomes a `functionResponse` named after the call it answers (looked up
    ///   from the tool calls before it), with `response: {"result": …}` — a JSON object result
    ///   as that object, anything else as its text;
    /// - consecutive turns of one role are merged.
    static func request(fromOpenAI body: JSONValue) throws -> JSONValue {
        let body = try RequestReading.object(body)
        guard let messages = try RequestReading.array(body["messages"], "messages") else { throw APIError.missingField("messages") }
        var system: [JSONValue] = []
        var contents: [(role: String, parts: [JSONValue])] = []
        var callNames: [String: String] = [:]
        for (index, message) in messages.enumerated() {
            let param = "messages[\(index)]"
            guard message.objectValue != nil else { throw RequestReading.invalid(param, "an object") }
            let parts: [JSONValue]
            let role: String
            switch try RequestReading.string(message["role"], "\(param).role") {
            case "system", "developer":
                system += try self.parts(message["content"], "\(param).content")
                continue
            case "user":
                (role, parts) = ("user", try self.parts(message["content"], "\(param).content"))
            case "assistant":
                var said = try self.parts(message["content"], "\(param).content")
                for (number, call) in (try RequestReading.array(message["tool_calls"], "\(param).tool_calls") ?? []).enumerated() {
                    let param = "\(param).tool_calls[\(number)]"
                    guard let name = try RequestReading.string(call["function"]?["name"], "\(param).function.name") else {
                        throw APIError.missingField("\(param).function.name")
                    }
                    // A later call with a reused id (`call_0` again, say) names later results.
                    if let id = call["id"]?.stringValue { callNames[id] = name }
                    let args = try RequestReading.arguments(call["function"]?["arguments"], "\(param).function.arguments")
                    said.append(["functionCall": ["name": .string(name), "args": args]])
                }
                (role, parts) = ("model", said)
            case "tool":
                (role, parts) = ("user", [try functionResponse(message, param, names: callNames)])
            case nil:
                throw APIError.missingField("\(param).role")
            default:
                throw RequestReading.unsupported("\(param).role", "Gemini takes system, user, assistant and tool turns", code: "unsupported_role")
            }
            guard !parts.isEmpty else { continue }
            if let last = contents.indices.last, contents[last].role == role {
                contents[last].parts += parts
            } else {
                contents.append((role, parts))
            }
        }
        var request: [String: JSONValue] = ["contents": .array(contents.map { ["role": .string($0.role), "parts": .array($0.parts)] })]
        if !system.isEmpty { request["systemInstruction"] = ["parts": .array(system)] }
        let tools = try RequestReading.array(body["tools"], "tools") ?? []
        if !tools.isEmpty { request["tools"] = [["functionDeclarations": .array(try tools.enumerated().map { index, tool in try declaration(index, tool) })]] }
        if let choice = try toolConfig(body["tool_choice"]) { request["toolConfig"] = ["functionCallingConfig": choice] }
        let config = try generationConfig(body)
        if !config.isEmpty { request["generationConfig"] = .object(config) }
        return .object(request)
    }

    // MARK: Parts

    private static func parts(_ content: JSONValue?, _ param: String) throws -> [JSONValue] {
        guard let content, content != .null else { return [] }
        if let text = content.stringValue { return text.isEmpty ? [] : [["text": .string(text)]] }
        guard let items = content.arrayValue else { throw RequestReading.invalid(param, "a string or an array of content parts") }
        var parts: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let param = "\(param)[\(index)]"
            switch item["type"]?.stringValue {
            case "text":
                guard let text = item["text"]?.stringValue else { throw RequestReading.invalid("\(param).text", "a string") }
                if !text.isEmpty { parts.append(["text": .string(text)]) }
            case "refusal":
                if let text = item["refusal"]?.stringValue, !text.isEmpty { parts.append(["text": .string(text)]) }
            case "image_url":
                let url = item["image_url"]?["url"]?.stringValue ?? item["image_url"]?.stringValue
                parts.append(try inlineData(url, "\(param).image_url.url"))
            case "file":
                parts.append(try inlineData(item["file"]?["file_data"]?.stringValue, "\(param).file.file_data"))
            default:
                throw RequestReading.unsupported("\(param).type", "Gemini takes text, image_url and file parts", code: "unsupported_content_part")
            }
        }
        return parts
    }

    /// Gemini reads media from the request (`inlineData`) or its own Files API, not from the web:
    /// a web URL would have to be downloaded first, which a pure translation cannot do.
    private static func inlineData(_ url: String?, _ param: String) throws -> JSONValue {
        guard let url else { throw RequestReading.invalid(param, "a string") }
        guard let (mediaType, data) = RequestReading.dataURL(url) else {
            throw RequestReading.unsupported(param, "Gemini takes media as base64 data URLs", code: "unsupported_media_url")
        }
        return ["inlineData": ["mimeType": .string(mediaType), "data": .string(data)]]
    }

    private static func functionResponse(_ message: JSONValue, _ param: String, names: [String: String]) throws -> JSONValue {
        guard let id = try RequestReading.string(message["tool_call_id"], "\(param).tool_call_id") else {
            throw APIError.missingField("\(param).tool_call_id")
        }
        guard let name = names[id] else {
            throw APIError.badRequest("'\(param).tool_call_id' answers no earlier tool call", code: "unknown_tool_call_id", param: "\(param).tool_call_id")
        }
        let text = try RequestReading.text(message["content"], "\(param).content")
        let parsed = try? JSONValue.parse(Array(text.utf8))
        let result = parsed?.objectValue != nil ? parsed! : .string(text)
        return ["functionResponse": ["name": .string(name), "response": ["result": result]]]
    }

    // MARK: Tools and configuration

    private static func declaration(_ index: Int, _ tool: JSONValue) throws -> JSONValue {
        let function = try RequestReading.functionTool(tool, index: index)
        var out: [String: JSONValue] = ["name": .string(function.name)]
        if let description = function.description { out["description"] = .string(description) }
        // Plain JSON Schema, not the older OpenAPI subset of `parameters`.
        if let schema = function.parameters { out["parametersJsonSchema"] = .object(schema) }
        return .object(out)
    }

    private static func toolConfig(_ value: JSONValue?) throws -> JSONValue? {
        guard let value, value != .null else { return nil }
        switch value.stringValue {
        case "auto": return ["mode": "AUTO"]
        case "none": return ["mode": "NONE"]
        case "required": return ["mode": "ANY"]
        default:
            guard value["type"]?.stringValue == "function", let name = value["function"]?["name"]?.stringValue else {
                throw RequestReading.invalid("tool_choice", "auto, none, required or {\"type\":\"function\",\"function\":{\"name\":…}}")
            }
            return ["mode": "ANY", "allowedFunctionNames": [.string(name)]]
        }
    }

    private static func generationConfig(_ body: [String: JSONValue]) throws -> [String: JSONValue] {
        var config: [String: JSONValue] = [:]
        let maxTokens = try RequestReading.int(body["max_completion_tokens"], "max_completion_tokens", in: 1...Int64(Int32.max))
            ?? RequestReading.int(body["max_tokens"], "max_tokens", in: 1...Int64(Int32.max))
        if let maxTokens { config["maxOutputTokens"] = .int(maxTokens) }
        if let temperature = try RequestReading.number(body["temperature"], "temperature", in: 0...2) { config["temperature"] = .number(temperature) }
        if let topP = try RequestReading.number(body["top_p"], "top_p", in: 0...1) { config["topP"] = .number(topP) }
        let stops = try RequestReading.stops(body["stop"], "stop", limit: maxStopSequences)
        if !stops.isEmpty { config["stopSequences"] = .array(stops.map(JSONValue.string)) }
        if let seed = try RequestReading.int(body["seed"], "seed", in: Int64(Int32.min)...Int64(Int32.max)) { config["seed"] = .int(seed) }
        if let n = try RequestReading.int(body["n"], "n", in: 1...Int64(maxCandidates)), n > 1 { config["candidateCount"] = .int(n) }
        if let penalty = try RequestReading.number(body["presence_penalty"], "presence_penalty", in: -2...2) { config["presencePenalty"] = .number(penalty) }
        if let penalty = try RequestReading.number(body["frequency_penalty"], "frequency_penalty", in: -2...2) { config["frequencyPenalty"] = .number(penalty) }
        if let format = body["response_format"], format != .null {
            switch format["type"]?.stringValue {
            case "json_object":
                config["responseMimeType"] = "application/json"
            case "json_schema":
                guard let schema = format["json_schema"]?["schema"], schema.objectValue != nil else {
                    throw RequestReading.invalid("response_format.json_schema.schema", "an object")
                }
                config["responseMimeType"] = "application/json"
                config["responseJsonSchema"] = schema
            case "text": break
            default: throw RequestReading.invalid("response_format.type", "text, json_object or json_schema")
            }
        }
        return config
    }
}
