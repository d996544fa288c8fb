import NIOCore

/// Watches the bytes of a relayed answer without changing them: when the first byte went out,
/// how many stream events passed, and the token counts the answer reports at its end (OpenAI's
/// `usage`, Ollama's `prompt_eval_count`/`eval_count`), read from a small rolling tail.
final class RelayTap: @unchecked Sendable {
    // Touched only by the one relay task (hence @unchecked).
    private(set) var firstByte: ContinuousClock.Instant?
    private(set) var bytes = 0
    private(set) var events = 0
    private var tail: [UInt8] = []
    static let tailLimit = 8192

    func observe(_ chunk: ByteBuffer) {
        if firstByte == nil, chunk.readableBytes > 0 { firstByte = .now }
        bytes += chunk.readableBytes
        chunk.withUnsafeReadableBytes { raw in
            // Count "data:" at line starts: one per SSE event.
            var previous: UInt8 = 0x0a
            var i = 0
            while i < raw.count {
                if previous == 0x0a, raw[i] == UInt8(ascii: "d"), i + 4 < raw.count, raw[i + 4] == UInt8(ascii: ":"),
                   raw[i + 1] == UInt8(ascii: "a"), raw[i + 2] == UInt8(ascii: "t"), raw[i + 3] == UInt8(ascii: "a")
                {
                    events += 1
                }
                previous = raw[i]
                i += 1
            }
            tail.append(contentsOf: raw.suffix(Self.tailLimit))
            if tail.count > Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
        }
    }

    /// (prompt tokens, completion tokens) as reported in the answer, else estimated from the
    /// number of stream events.
    var tokens: (prompt: Int64, completion: Int64) {
        let prompt = lastNumber(after: "\"prompt_tokens\":") ?? lastNumber(after: "\"prompt_eval_count\":") ?? 0
        if let completion = lastNumber(after: "\"completion_tokens\":") ?? lastNumber(after: "\"eval_count\":") {
            return (prompt, completion)
        }
        // A stream without usage: one event per token, less the role and finish events.
        return (prompt, Int64(max(0, events - 2)))
    }

    private func lastNumber(after key: String) -> Int64? {
        let needle = Array(key.utf8)
        guard tail.count >= needle.count else { return nil }
        var index = tail.count - needle.count
        while index >= 0 {
            if tail[index] == needle[0], Array(tail[index..<(index + needle.count)]) == needle {
                var cursor = index + needle.count
                while cursor < tail.count, tail[cursor] == 0x20 { cursor += 1 }
                var value: Int64 = 0
                var digits = 0
                while cursor < tail.count, tail[cursor] >= 0x30, tail[cursor] <= 0x39, digits < 18 {
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
