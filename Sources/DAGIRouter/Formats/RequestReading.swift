import MeshCore
import MeshHTTP

/// Reading a client's request for translation into another API. A known field of the wrong type
/// is the client's mistake, answered 400 with the field's path in `param` — never a trap, never
/// a silent guess. A JSON `null` counts as absent, as OpenAI's own API treats it.
enum RequestReading {
    static func object(_ body: JSONValue) throws -> [String: JSONValue] {
        guard let object = body.objectValue else { throw APIError.badRequest("the body must be a JSON object", code: "invalid_body") }
        return object
    }

    static func string(_ value: JSONValue?, _ param: String) throws -> String? {
        guard let value, value != .null else { return nil }
        guard let string = value.stringValue else { throw invalid(param, "a string") }
        return string
    }

    static func bool(_ value: JSONValue?, _ param: String) throws -> Bool? {
        guard let value, value != .null else { return nil }
        guard let bool = value.boolValue else { throw invalid(param, "true or false") }
        return bool
    }

    static func array(_ value: JSONValue?, _ param: String) throws -> [JSONValue]? {
        guard let value, value != .null else { return nil }
        guard let array = value.arrayValue else { throw invalid(param, "an array") }
        return array
    }

    static func objectField(_ value: JSONValue?, _ param: String) throws -> [String: JSONValue]? {
        guard let value, value != .null else { return nil }
        guard let object = value.objectValue else { throw invalid(param, "an object") }
        return object
    }

    /// A whole number within `range` (checked here, so later arithmetic on it cannot overflow).
    static func int(_ value: JSONValue?, _ param: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let value, value != .null else { return nil }
        guard let int = value.intValue, range.contains(int) else {
            throw invalid(param, "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return int
    }

    /// A finite number within `range`.
    static func number(_ value: JSONValue?, _ param: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value, value != .null else { return nil }
        guard let number = value.doubleValue, number.isFinite, range.contains(number) else {
            throw invalid(param, "a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// OpenAI's `stop`: one string or an array of them; empty strings stop nothing and are left out.
    static func stops(_ value: JSONValue?, _ param: String, limit: Int) throws -> [String] {
        guard let value, value != .null else { return [] }
        let strings: [String]
        if let one = value.stringValue {
            strings = [one]
        } else if let many = value.arrayValue {
            strings = try many.enumerated().map { index, item in
                guard let string = item.stringValue else { throw invalid("\(param)[\(index)]", "a string") }
                return string
            }
        } else {
            throw invalid(param, "a string or an array of strings")
        }
        let kept = strings.filter { !$0.isEmpty }
        guard kept.count <= limit else {
            throw APIError.badRequest("'\(param)' may hold at most \(limit) sequences", code: "too_many_stop_sequences", param: param)
        }
        return kept
    }

    /// OpenAI's tool call `arguments` (JSON text) as the object Anthropic and Gemini take: empty
    /// text is `{}`; an object already given is kept; anything else is the client's error.
    static func arguments(_ value: JSONValue?, _ param: String) throws -> JSONValue {
        guard let value, value != .null else { return [:] }
        if value.objectValue != nil { return value }
        guard let text = value.stringValue else { throw invalid(param, "a string of JSON") }
        if text.allSatisfy(\.isWhitespace) { return [:] }
        guard let parsed = try? JSONValue.parse(Array(text.utf8)), parsed.objectValue != nil else {
            throw APIError.badRequest("'\(param)' is not a JSON object", code: "invalid_tool_arguments", param: param)
        }
        return parsed
    }

    /// A `data:<mime>[;params];base64,<payload>` URL's media type (lowercased) and payload.
    static func dataURL(_ url: String) -> (mediaType: String, data: String)? {
        guard url.utf8.count > 5, url.prefix(5).lowercased() == "data:", let comma = url.firstIndex(of: ",") else { return nil }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma].lowercased()
        guard header.hasSuffix(";base64") else { return nil }
        let mediaType = header.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !mediaType.isEmpty else { return nil }
        return (mediaType, String(url[url.index(after: comma)...]))
    }

    /// Whether a URL is a web address a provider can fetch itself.
    static func isWebURL(_ url: String) -> Bool {
        let lower = url.prefix(8).lowercased()
        return lower.hasPrefix("https://") || lower.hasPrefix("http://")
    }

    /// The text of a message's content: a string, or its `text` parts joined.
    static func text(_ content: JSONValue?, _ param: String) throws -> String {
        guard let content, content != .null else { return "" }
        if let text = content.stringValue { return text }
        guard let parts = content.arrayValue else { throw invalid(param, "a string or an array of content parts") }
        return try parts.enumerated().map { index, part in
            guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                throw unsupported("\(param)[\(index)]", "only text parts are accepted here")
            }
            return text
        }.joined()
    }

    static func invalid(_ param: String, _ expected: String) -> APIError {
        APIError.badRequest("'\(param)' must be \(expected)", code: "invalid_type", param: param)
    }

    static func unsupported(_ param: String, _ why: String, code: String = "unsupported_value") -> APIError {
        APIError.badRequest("'\(param)' cannot be translated: \(why)", code: code, param: param)
    }

    /// An OpenAI function tool (`tools[index]`), read for translation into another API's.
    struct FunctionTool {
        var name: String
        var description: String?
        var parameters: [String: JSONValue]?
        var strict: Bool?
    }

    static func functionTool(_ tool: JSONValue, index: Int) throws -> FunctionTool {
        let param = "tools[\(index)]"
        guard tool["type"]?.stringValue ?? "function" == "function" else {
            throw unsupported("\(param).type", "only function tools can be translated", code: "unsupported_tool_type")
        }
        guard let name = try string(tool["function"]?["name"], "\(param).function.name") else {
            throw APIError.missingField("\(param).function.name")
        }
        return FunctionTool(
            name: name, description: try string(tool["function"]?["description"], "\(param).function.description"),
            parameters: try objectField(tool["function"]?["parameters"], "\(param).function.parameters"),
            strict: tool["function"]?["strict"]?.boolValue
        )
    }
}
