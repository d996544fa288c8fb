import Foundation
import MeshCore
import NIOCore
import NIOHTTP1

/// What a provider's error answer says beyond its status: whether the prompt was too long for
/// the model (the notes' §5.4), and when to try again (§5.3). Error bodies are an upstream's
/// bytes: only their first `maxBody` bytes are read, and no value in them can trap.
enum ProviderErrors {
    /// Explanations are short; a longer body is only searched as text, never parsed whole.
    static let maxBody = 64 << 10
    /// The longest wait a provider can ask for; longer hints are cut to it.
    static let maxRetryAfter = Duration.seconds(3600)

    /// Whether an error answer means "the prompt exceeds the model's context":
    ///
    ///     OpenAI      400, error.code "context_length_exceeded", or the message below
    ///     DeepSeek    400, "This model's maximum context length is N tokens…"
    ///     Anthropic   400, "prompt is too long: 208310 tokens > 200000 maximum"
    ///     Gemini      400, "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576)."
    ///     llama.cpp   400, error.type "exceed_context_size_error" ("request (N tokens) exceeds the available context size…")
    ///
    /// Anthropic's 413 `request_too_large` is about the body's bytes, not tokens, and is not one.
    static func isContextLength(status: Int, body: ByteBuffer) -> Bool {
        guard status == 400 else { return false }
        let (error, text) = read(body)
        if error?["code"]?.stringValue == "context_length_exceeded" || error?["type"]?.stringValue == "exceed_context_size_error" {
            return true
        }
        let message = (error?["message"]?.stringValue ?? error?.stringValue ?? text ?? "").lowercased()
        return message.contains("maximum context length") || message.contains("prompt is too long")
            || (message.contains("input token count") && message.contains("exceeds the maximum number of tokens"))
            || message.contains("exceeds the available context size")
    }

    /// How long the provider asks us to wait, from (in this order) `retry-after-ms`,
    /// `retry-after` (seconds, or an HTTP date) and Gemini's `google.rpc.RetryInfo` detail
    /// (`"retryDelay": "13s"`); at most `maxRetryAfter`. Nil when it says nothing usable.
    static func retryAfter(headers: [(String, String)], body: ByteBuffer, now: Date = Date()) -> Duration? {
        if let value = header("retry-after-ms", in: headers), let millis = Double(value.trimmingCharacters(in: .whitespaces)) {
            if let wait = duration(seconds: millis / 1000) { return wait }
        }
        if let value = header("retry-after", in: headers)?.trimmingCharacters(in: .whitespaces) {
            if let seconds = Double(value) {
                if let wait = duration(seconds: seconds) { return wait }
            } else if let date = httpDate(value) {
                return duration(seconds: max(0, date.timeIntervalSince(now)))
            }
        }
        let (error, _) = read(body)
        for detail in error?["details"]?.arrayValue ?? [] where detail["@type"]?.stringValue?.hasSuffix("google.rpc.RetryInfo") == true {
            // A protobuf Duration in JSON: decimal seconds with an `s`, "13s" or "1.5s".
            guard let delay = detail["retryDelay"]?.stringValue, delay.hasSuffix("s"), let seconds = Double(delay.dropLast()) else { continue }
            if let wait = duration(seconds: seconds) { return wait }
        }
        return nil
    }

    static func retryAfter(headers: HTTPHeaders, body: ByteBuffer, now: Date = Date()) -> Duration? {
        retryAfter(headers: headers.map { ($0.name, $0.value) }, body: body, now: now)
    }

    // MARK: Reading

    /// The body's `error` (Anthropic, OpenAI, Gemini and llama.cpp all answer `{"error": …}`),
    /// or, when the body is not JSON, its text (servers and proxies that answer in plain words).
    private static func read(_ body: ByteBuffer) -> (error: JSONValue?, text: String?) {
        let bytes = body.readableBytesView.prefix(maxBody)
        guard body.readableBytes <= maxBody, let document = try? JSONValue.parse(bytes) else {
            return (nil, String(decoding: bytes, as: UTF8.self))
        }
        return (document["error"], nil)
    }

    private static func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    /// Seconds from an upstream as a bounded duration: NaN, infinities and negatives are no hint.
    private static func duration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0 else { return nil }
        // Bounded first, so the conversion to whole milliseconds cannot overflow.
        let millis = (min(seconds, 3600) * 1000).rounded(.up)
        return .milliseconds(Int64(millis))
    }

    /// An HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`, RFC 9110's preferred form).
    private static func httpDate(_ value: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value)
    }
}
