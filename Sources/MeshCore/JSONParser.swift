/// A malformed JSON document, with the byte offset where it went wrong.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 parser over bytes.
///
/// It can build values (``parseDocument()``) or only validate and skip them
/// (``skipValue()``), which is what lets the router read the two or three top-level fields it
/// routes on without materializing a large request body. Nesting is bounded so hostile input
/// cannot exhaust the stack.
///
/// Measured before keeping it (`scripts/bench-json`, release, 200 runs each, 2026-12-03):
/// reading `model` and `stream` from a chat body takes 3.8 µs / 107 µs / 2.9 ms at 1 KB /
/// 100 KB / 4 MB; Foundation's `JSONDecoder` into a two-field `Decodable` 5.4 µs / 69 µs /
/// 3.0 ms (1.4× slower, 1.6× faster, even); `JSONSerialization` 19 µs / 688 µs / 34 ms (5–12×
/// slower). So for the routing fields alone it does not earn its lines. It stays for what
/// Foundation does not do: it reports where `model` sits in the body, so a request is renamed
/// for its upstream by splicing bytes instead of re-encoding it, and it builds ``JSONValue``
/// documents (numbers kept as integers or doubles) for the provider translations, where the
/// alternative, `JSONSerialization`, is 5–12× slower and untyped.
public struct JSONParser {
    public let bytes: [UInt8]
    public private(set) var index: Int
    public static let maxDepth = 256

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
    }

    // MARK: Whole documents

    public mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected data after the JSON value") }
        return value
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var object: [String: JSONValue] = [:]
            skipWhitespace()
            if peek(UInt8(ascii: "}")) { index += 1; return .object(object) }
            while true {
                skipWhitespace()
                let key = try parseString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                object[key] = try parseValue(depth: depth + 1)
                skipWhitespace()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                return .object(object)
            }
        case UInt8(ascii: "["):
            index += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if peek(UInt8(ascii: "]")) { index += 1; return .array(array) }
            while true {
                skipWhitespace()
                array.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return .array(array)
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            let range = try scanNumber()
            let text = String(decoding: bytes[range], as: UTF8.self)
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let int = Int64(text) {
                return .int(int)
            }
            guard let double = Double(text) else { throw error("invalid number") }
            return .number(double)
        }
    }

    // MARK: Skipping (validation without building)

    /// Validates and skips one value, returning its byte range.
    @discardableResult
    public mutating func skipValue(depth: Int = 0) throws -> Range<Int> {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            skipWhitespace()
            if peek(UInt8(ascii: "}")) { index += 1; return start..<index }
            while true {
                skipWhitespace()
                try skipString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                return start..<index
            }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek(UInt8(ascii: "]")) { index += 1; return start..<index }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return start..<index
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try scanNumber()
        }
        return start..<index
    }

    /// Walks a top-level object, calling `visit` for each key with the parser positioned at the
    /// value; `visit` must consume the value (parse or skip it). Validates the whole document.
    public mutating func forEachTopLevelField(_ visit: (String, inout JSONParser) throws -> Void) throws {
        skipWhitespace()
        guard peek(UInt8(ascii: "{")) else { throw error("expected a JSON object") }
        index += 1
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let key = try parseString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                let before = index
                try visit(key, &self)
                if index == before { try skipValue(depth: 1) }
                skipWhitespace()
                if peek(UInt8(ascii: ",")) { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected data after the JSON value") }
    }

    /// Parses the value at the current position (for use inside ``forEachTopLevelField(_:)``).
    public mutating func parseValue() throws -> JSONValue { try parseValue(depth: 1) }

    // MARK: Lexing

    public mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0a, 0x0d, 0x09: index += 1
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek(byte) else {
            throw error(index < bytes.count ? "expected '\(Character(Unicode.Scalar(byte)))'" : "unexpected end of input")
        }
        index += 1
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let matches = word.withUTF8Buffer { expected in (0..<count).allSatisfy { bytes[index + $0] == expected[$0] } }
        guard matches else { throw error("invalid literal") }
        index += count
    }

    private mutating func scanNumber() throws -> Range<Int> {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid value") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return start..<index
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Skips a string, validating escapes and rejecting raw control characters.
    private mutating func skipString() throws {
        try expect(UInt8(ascii: "\""))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { index += 1; return }
            if byte < 0x20 { throw error("control character in string") }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    _ = try hex4()
                default:
                    throw error("invalid escape")
                }
                continue
            }
            index += 1
        }
        throw error("unterminated string")
    }

    /// Parses a string, decoding escapes (surrogate pairs included).
    public mutating func parseString() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Fast path: no escapes.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            if bytes[index] < 0x20 { throw error("control character in string") }
            index += 1
        }
        if peek(UInt8(ascii: "\"")) {
            index += 1
            guard let s = String(validating: bytes[start..<(index - 1)], as: UTF8.self) else { throw error("invalid UTF-8") }
            return s
        }
        var scalars = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard let s = String(validating: scalars, as: UTF8.self) else { throw error("invalid UTF-8") }
                return s
            }
            if byte < 0x20 { throw error("control character in string") }
            guard byte == UInt8(ascii: "\\") else {
                scalars.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append(0x22)
            case UInt8(ascii: "\\"): scalars.append(0x5c)
            case UInt8(ascii: "/"): scalars.append(0x2f)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0c)
            case UInt8(ascii: "n"): scalars.append(0x0a)
            case UInt8(ascii: "r"): scalars.append(0x0d)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "u"):
                var code = UInt32(try hex4())
                if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                {
                    index += 2
                    let low = UInt32(try hex4())
                    guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    private mutating func hex4() throws -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of input") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt16
            switch b {
            case 0x30...0x39: digit = UInt16(b - 0x30)
            case 0x41...0x46: digit = UInt16(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt16(b - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func error(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: index) }
}
