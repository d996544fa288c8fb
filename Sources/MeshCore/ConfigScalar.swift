/// A configuration value written as one scalar — `10s`, `300MiB`, `http://host:7007`,
/// `127.0.0.1:7007` — parsed in one place by its type, and coded the same way for all of them:
/// decoded from a string (or a bare number), encoded as its canonical spelling.
public protocol ConfigScalar: Codable, CustomStringConvertible {
    /// Parses the written form; nil when it is not a valid value.
    init?(parsing text: String)
    /// What the value is and how to write one, for the error that names a bad one
    /// (e.g. `duration (use e.g. 500ms, 10s, 5m, 1h, 30d)`).
    static var expectedForm: String { get }
}

extension ConfigScalar {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let number = try? container.decode(Int64.self) {
            text = String(number)
        } else if let number = try? container.decode(Double.self) {
            text = String(number)
        } else {
            text = try container.decode(String.self)
        }
        guard let parsed = Self(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid \(Self.expectedForm): \"\(text)\"")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
