import MeshCore
import NIOCore

/// The few fields of an OpenAI-, Ollama- or Anthropic-style request body that routing needs,
/// read without building the rest: the JSON is validated in one pass and everything else is
/// skipped. The sampling parameters every API shares are range-checked here, so a request that
/// no model server would accept is answered 400 before any upstream is called.
public struct RequestFields: Sendable, Equatable {
    public var model: String?
    public var stream: Bool?
    /// The answer's token limit the client set (the larger of `max_tokens` and
    /// `max_completion_tokens`: translations to other APIs may take either), if any: what a
    /// cloud request's worst-case cost is reckoned from.
    public var maxTokens: Int?
    /// How many answers the client asked for (`n`).
    public var choices: Int?
    /// The sampling temperature, if set: top-level (OpenAI, Anthropic), or Ollama's
    /// `options.temperature`. Zero makes a request deterministic, and so cacheable.
    public var temperature: Double?
    /// The top-level keys present.
    public var present: Set<String> = []
    /// Where the `model` value (with its quotes) sits in the body.
    public var modelRange: Range<Int>?

    public init(model: String? = nil, stream: Bool? = nil) {
        self.model = model
        self.stream = stream
    }

    /// Longest model name accepted: names travel in headers and table keys.
    public static let maxModelLength = 256

    /// Reads the fields from a body; throws ``APIError`` (400) when it is not a JSON object or a
    /// field has the wrong type or range.
    public static func read(_ body: ByteBuffer) throws -> RequestFields {
        var fields = RequestFields()
        var parser = JSONParser(Array(body.readableBytesView))
        do {
            try parser.forEachTopLevelField { key, parser in
                fields.present.insert(key)
                switch key {
                case "model":
                    let start = parser.index
                    // Names reach terminals (`dagi usage`), CSV and replicated rows: no control characters.
                    guard case .string(let model) = try parser.parseValue(), model.utf8.count <= maxModelLength,
                          !model.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
                    else {
                        throw APIError.badRequest(
                            "\"model\" must be a string of at most \(maxModelLength) bytes without control characters", code: "invalid_model", param: "model"
                        )
                    }
                    fields.model = model
                    fields.modelRange = start..<parser.index
                case "stream":
                    guard case .bool(let stream) = try parser.parseValue() else {
                        throw APIError.badRequest("\"stream\" must be true or false", code: "invalid_type", param: "stream")
                    }
                    fields.stream = stream
                case "messages", "contents":
                    guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "[") else {
                        throw APIError.badRequest("\"\(key)\" must be a list", code: "invalid_type", param: key)
                    }
                    try parser.skipValue(depth: 1)
                case "max_tokens", "max_completion_tokens", "n":
                    let value = try parser.parseValue()
                    try checkInteger(key, value, minimum: 1)
                    if let count = value.intValue {
                        if key == "n" { fields.choices = Int(count) } else { fields.maxTokens = max(fields.maxTokens ?? 0, Int(count)) }
                    }
                case "temperature":
                    let value = try parser.parseValue()
                    try checkNumber(key, value, in: 0...2)
                    fields.temperature = value.doubleValue
                case "options":
                    // Ollama's: an object whose temperature says whether the request is deterministic.
                    let value = try parser.parseValue()
                    guard value == .null || value.objectValue != nil else {
                        throw APIError.badRequest("\"options\" must be an object", code: "invalid_type", param: key)
                    }
                    if fields.temperature == nil, let temperature = value["temperature"]?.doubleValue { fields.temperature = temperature }
                case "top_p":
                    try checkNumber(key, try parser.parseValue(), in: 0...1)
                case "stream_options", "metadata":
                    guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "{") || parser.bytes[parser.index] == UInt8(ascii: "n") else {
                        throw APIError.badRequest("\"\(key)\" must be an object", code: "invalid_type", param: key)
                    }
                    try parser.skipValue(depth: 1)
                default:
                    break
                }
            }
        } catch let error as JSONParseError {
            throw APIError.badRequest("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        return fields
    }

    private static func checkInteger(_ key: String, _ value: JSONValue, minimum: Int64) throws {
        if value == .null { return }
        guard let number = value.intValue, number >= minimum, number <= Int64(Int32.max) else {
            throw APIError.badRequest("\"\(key)\" must be a whole number from \(minimum) to \(Int32.max)", code: "invalid_value", param: key)
        }
    }

    private static func checkNumber(_ key: String, _ value: JSONValue, in range: ClosedRange<Double>) throws {
        if value == .null { return }
        guard let number = value.doubleValue, range.contains(number) else {
            throw APIError.badRequest(
                "\"\(key)\" must be a number from \(range.lowerBound.formatted) to \(range.upperBound.formatted)", code: "invalid_value", param: key
            )
        }
    }

    /// The body with the `model` value replaced (the rest byte for byte), for upstreams that
    /// route on it, such as Ollama.
    public func replacingModel(in body: ByteBuffer, with model: String) -> ByteBuffer {
        guard let range = modelRange, range.upperBound <= body.readableBytes else { return body }
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

extension Double {
    fileprivate var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
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
