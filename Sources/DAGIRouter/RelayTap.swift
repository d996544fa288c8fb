import MeshCore
import NIOCore

/// Watches the bytes of a relayed answer without changing them: when the first byte went out,
/// how many stream events passed, and the usage the answer reports at its end (OpenAI's `usage`
/// object, Ollama's `prompt_eval_count`/`eval_count`), read from a bounded tail.
final class RelayTap: @unchecked Sendable {
    // Touched only by the one relay (hence @unchecked).
    private(set) var firstByte: ContinuousClock.Instant?
    private(set) var bytes = 0
    private(set) var events = 0
    private var tail: [UInt8] = []
    static let tailLimit = 16 << 10

    func observe(_ chunk: ByteBuffer) {
        if firstByte == nil, chunk.readableBytes > 0 { firstByte = .now }
        bytes += chunk.readableBytes
        chunk.withUnsafeReadableBytes { raw in
            // Count "data:" at line starts: one per SSE event.
            var previous: UInt8 = 0x0a
            for i in 0..<raw.count {
                if previous == 0x0a, raw[i] == UInt8(ascii: "d"), i + 4 < raw.count, raw[i + 4] == UInt8(ascii: ":"),
                   raw[i + 1] == UInt8(ascii: "a"), raw[i + 2] == UInt8(ascii: "t"), raw[i + 3] == UInt8(ascii: "a")
                {
                    events += 1
                }
                previous = raw[i]
            }
            tail.append(contentsOf: raw.suffix(Self.tailLimit))
            if tail.count > Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
        }
    }

    /// The usage the answer reported, if it did: the last `"usage":{…}` object in the tail
    /// (OpenAI's shape, cached and reasoning tokens included), or Ollama's final counts.
    var reportedUsage: TokenUsage? {
        if let object = lastObject(after: Array(#""usage":"#.utf8)), let usage = TokenUsage(openAI: try? JSONValue.parse(object)) {
            return usage
        }
        if let completion = lastNumber(after: #""eval_count":"#) {
            return TokenUsage(prompt: lastNumber(after: #""prompt_eval_count":"#) ?? 0, completion: completion)
        }
        return nil
    }

    /// The JSON object that follows the last occurrence of `key` in the tail, if whole.
    private func lastObject(after key: [UInt8]) -> ArraySlice<UInt8>? {
        var index = tail.count - key.count
        while index >= 0 {
            if tail[index] == key[0], tail[index..<(index + key.count)].elementsEqual(key) {
                var cursor = index + key.count
                while cursor < tail.count, tail[cursor] == 0x20 { cursor += 1 }
                guard cursor < tail.count, tail[cursor] == UInt8(ascii: "{") else { index -= 1; continue }
                let start = cursor
                var depth = 0
                var inString = false
                var escaped = false
                while cursor < tail.count {
                    let byte = tail[cursor]
                    if inString {
                        if escaped { escaped = false } else if byte == 0x5c { escaped = true } else if byte == 0x22 { inString = false }
                    } else if byte == 0x22 {
                        inString = true
                    } else if byte == UInt8(ascii: "{") {
                        depth += 1
                    } else if byte == UInt8(ascii: "}") {
                        depth -= 1
                        if depth == 0 { return tail[start...cursor] }
                    }
                    cursor += 1
                }
                return nil
            }
            index -= 1
        }
        return nil
    }

    private func lastNumber(after key: String) -> Int64? {
        let needle = Array(key.utf8)
        var index = tail.count - needle.count
        while index >= 0 {
            if tail[index] == needle[0], tail[index..<(index + needle.count)].elementsEqual(needle) {
                var cursor = index + needle.count
                while cursor < tail.count, tail[cursor] == 0x20 { cursor += 1 }
                var value: Int64 = 0
                var digits = 0
                while cursor < tail.count, tail[cursor] >= 0x30, tail[cursor] <= 0x39, digits < 12 {
                    value = value * 10 + Int64(tail[cursor] - 0x30)
                    cursor += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            index -= 1
        }
        return nil
    }
}
