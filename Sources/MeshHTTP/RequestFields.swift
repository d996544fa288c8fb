import MeshCore
import NIOCore

/// The few fields of an OpenAI- or Ollama-style request body that routing needs, read without
/// building the rest: the JSON is validated in one pass and everything else is skipped.
public struct RequestFields: Sendable, Equatable {
    public var model: String?
    public var stream: Bool?
    /// The top-level keys present.
    public var present: Set<String> = []
    /// Where the `model` value (with its quotes) sits in the body.
    public var modelRange: Range<Int>?

    public init(model: String? = nil, stream: Bool? = nil) {
        self.model = model
        self.stream = stream
    }

    /// Reads the fields from a body; throws ``APIError`` (400) when it is not a JSON object or a
    /// field has the wrong type.
    public static func read(_ body: ByteBuffer) throws -> RequestFields {
        var fields = RequestFields()
        var parser = JSONParser(Array(body.readableBytesView))
        do {
            try parser.forEachTopLevelField { key, parser in
                fields.present.insert(key)
                switch key {
                case "model":
                    let start = parser.index
                    guard case .string(let model) = try parser.parseValue() else {
                        throw APIError.badRequest("\"model\" must be a string", code: "invalid_model", param: "model")
                    }
                    fields.model = model
                    fields.modelRange = start..<parser.index
                case "stream":
                    guard case .bool(let stream) = try parser.parseValue() else {
                        throw APIError.badRequest("\"stream\" must be true or false", code: "invalid_type", param: "stream")
                    }
                    fields.stream = stream
                default:
                    break
                }
            }
        } catch let error as JSONParseError {
            throw APIError.badRequest("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        return fields
    }

    /// The body with the `model` value replaced (the rest byte for byte), for upstreams that
    /// route on it, such as Ollama.
    public func replacingModel(in body: ByteBuffer, with model: String) -> ByteBuffer {
        guard let range = modelRange else { return body }
        var out = ByteBuffer()
        out.reserveCapacity(body.readableBytes + model.utf8.count)
        let bytes = body.readableBytesView
        out.writeBytes(bytes[bytes.startIndex..<(bytes.startIndex + range.lowerBound)])
        var encoded: [UInt8] = []
        JSONValue.writeString(model, into: &encoded)
        out.writeBytes(encoded)
        out.writeBytes(bytes[(bytes.startIndex + range.upperBound)...])
        return out
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
