import NIOCore

/// The few fields of an OpenAI- or Ollama-style request body that routing needs, read without
/// building the rest: the JSON is validated in one pass and everything else is skipped.
public struct RequestFields: Sendable, Equatable {
    public var model: String?
    public var stream: Bool?
    /// `stream_options.include_usage` (OpenAI).
    public var includeUsage: Bool?

    public init(model: String? = nil, stream: Bool? = nil, includeUsage: Bool? = nil) {
        self.model = model
        self.stream = stream
        self.includeUsage = includeUsage
    }

    /// Reads the fields from a body; throws ``APIError`` (400) when it is not a JSON object or a
    /// field has the wrong type.
    public static func read(_ body: ByteBuffer) throws -> RequestFields {
        var fields = RequestFields()
        var parser = JSONParser(Array(body.readableBytesView))
        do {
            try parser.forEachTopLevelField { key, parser in
                switch key {
                case "model":
                    guard case .string(let model) = try parser.parseValue() else {
                        throw APIError.badRequest("\"model\" must be a string", code: "invalid_model", param: "model")
                    }
                    fields.model = model
                case "stream":
                    guard case .bool(let stream) = try parser.parseValue() else {
                        throw APIError.badRequest("\"stream\" must be true or false", code: "invalid_type", param: "stream")
                    }
                    fields.stream = stream
                case "stream_options":
                    if case .object(let options) = try parser.parseValue() { fields.includeUsage = options["include_usage"]?.boolValue }
                default:
                    break
                }
            }
        } catch let error as JSONParseError {
            throw APIError.badRequest("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        return fields
    }
}

extension APIError {
    /// 413 for a body over `limit` bytes.
    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "body_too_large", message: "the request body exceeds the \(limit)-byte limit")
    }

    /// 400 for a missing required field.
    public static func missingField(_ field: String) -> APIError {
        APIError.badRequest("you must provide a \"\(field)\" field", code: "missing_field", param: field)
    }
}
