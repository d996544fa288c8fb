import Foundation

/// A `multipart/form-data` body (RFC 7578), as OpenAI's SDKs upload files: its parts with their
/// field name, file name and bytes. Bounded: at most ``maxParts`` parts, headers of at most
/// ``maxHeaderBytes`` each; the body itself is bounded by whoever collected it.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        public var name: String
        public var filename: String?
        public var content: ArraySlice<UInt8>
    }

    public var parts: [Part]

    public static let maxParts = 16
    public static let maxHeaderBytes = 8 << 10

    /// The first part named `name`.
    public func part(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// Reads `body` sent with `contentType`; throws ``APIError`` (400) when it is not a
    /// well-formed form.
    public init(body: [UInt8], contentType: String?) throws {
        guard let boundary = contentType.flatMap(Self.boundary) else {
            throw APIError.badRequest("the body must be multipart/form-data with a boundary", code: "invalid_multipart")
        }
        let delimiter = Array("--\(boundary)".utf8)
        guard var start = Self.find(delimiter, in: body, from: 0) else { throw Self.malformed("no boundary") }
        var parts: [Part] = []
        while true {
            var index = start + delimiter.count
            // "--" after the delimiter ends the form.
            if body.count >= index + 2, body[index] == UInt8(ascii: "-"), body[index + 1] == UInt8(ascii: "-") { break }
            guard body.count >= index + 2, body[index] == 0x0d, body[index + 1] == 0x0a else { throw Self.malformed("a boundary line") }
            index += 2
            guard let headersEnd = Self.find([0x0d, 0x0a, 0x0d, 0x0a], in: body, from: index), headersEnd - index <= Self.maxHeaderBytes else {
                throw Self.malformed("a part's headers")
            }
            let headers = String(decoding: body[index..<headersEnd], as: UTF8.self)
            let contentStart = headersEnd + 4
            guard let next = Self.find([0x0d, 0x0a] + delimiter, in: body, from: contentStart) else { throw Self.malformed("a part without its end") }
            guard parts.count < Self.maxParts else { throw Self.malformed("more than \(Self.maxParts) parts") }
            guard let disposition = Self.disposition(headers), let name = disposition.name else { throw Self.malformed("a part without a name") }
            parts.append(Part(name: name, filename: disposition.filename, content: body[contentStart..<next]))
            start = next + 2
        }
        self.parts = parts
    }

    private static func malformed(_ what: String) -> APIError {
        APIError.badRequest("the multipart body is malformed (\(what))", code: "invalid_multipart")
    }

    /// The `boundary` parameter of a `multipart/form-data` content type (1–70 characters).
    static func boundary(_ contentType: String) -> String? {
        let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.first?.lowercased() == "multipart/form-data" else { return nil }
        for field in fields.dropFirst() where field.lowercased().hasPrefix("boundary=") {
            var value = field.dropFirst("boundary=".count)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            guard (1...70).contains(value.utf8.count), !value.utf8.contains(where: { $0 < 0x20 || $0 > 0x7e }) else { return nil }
            return String(value)
        }
        return nil
    }

    /// The `name` and `filename` of a part's `Content-Disposition: form-data` header.
    static func disposition(_ headers: String) -> (name: String?, filename: String?)? {
        for line in headers.split(separator: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2, pieces[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            var name: String?
            var filename: String?
            for parameter in pieces[1].split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                var value = pair[1][...]
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                switch pair[0].lowercased() {
                case "name": name = String(value)
                case "filename": filename = String(value)
                default: break
                }
            }
            return (name, filename)
        }
        return nil
    }

    /// Where `needle` first occurs in `haystack` at or after `from`: Knuth–Morris–Pratt, linear
    /// in the bytes searched whatever they are (a body of one repeated byte and a boundary of the
    /// same would make the naive search quadratic).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var fallback = [Int](repeating: 0, count: needle.count)
        var matched = 0
        for index in 1..<max(1, needle.count) {
            while matched > 0, needle[index] != needle[matched] { matched = fallback[matched - 1] }
            if needle[index] == needle[matched] { matched += 1 }
            fallback[index] = matched
        }
        matched = 0
        for index in from..<haystack.count {
            while matched > 0, haystack[index] != needle[matched] { matched = fallback[matched - 1] }
            if haystack[index] == needle[matched] { matched += 1 }
            if matched == needle.count { return index - needle.count + 1 }
        }
        return nil
    }
}
