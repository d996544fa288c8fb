import Foundation
import MeshCore
import NIOCore
import NIOHTTP1
import Testing
@testable import DAGIRouter

/// Recognising "the prompt is too long" and "retry after" in each provider's error answer
/// (bodies as the providers and the fakes send them), and odd values that must not trap.
@Suite struct ProviderErrorsTests {
    @Test func contextLengthErrorsAreRecognisedForEveryProvider() {
        let tooLong = [
            #"{"error": {"message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 128011 tokens. Please reduce the length of the messages.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}"#,
            #"{"error": {"message": "Context too big", "type": "invalid_request_error", "code": "context_length_exceeded"}}"#,
            #"{"error": {"message": "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens (69000 in the messages, 1000 in the completion).", "type": "invalid_request_error", "param": null, "code": "invalid_request_error"}}"#,
            #"{"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 200011 tokens > 200000 maximum"}, "request_id": "req_fake1"}"#,
            #"{"error": {"code": 400, "message": "The input token count (1048587) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}"#,
            #"{"error": {"code": 400, "message": "request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it", "type": "exceed_context_size_error"}}"#,
            "prompt is too long: 300000 tokens > 200000 maximum",
        ]
        for body in tooLong { #expect(ProviderErrors.isContextLength(status: 400, body: ByteBuffer(string: body)), "\(body)") }
        let other: [(Int, String)] = [
            (413, #"{"type": "error", "error": {"type": "request_too_large", "message": "Request exceeds the maximum allowed number of bytes."}}"#),
            (429, #"{"error": {"message": "Rate limit reached", "type": "tokens", "code": "rate_limit_exceeded"}}"#),
            (500, #"{"error": {"code": 500, "message": "The input token count (1) exceeds the maximum number of tokens allowed (0).", "status": "INTERNAL"}}"#),
            (400, #"{"error": {"message": "Invalid 'messages': empty array.", "code": "empty_array"}}"#),
            (400, #"{"error": {"message": "The input token count is fine"}}"#),
            (400, ""), (400, "[]"), (400, #"{"error": 7}"#), (400, #"{"error": {"code": 400, "message": ["prompt is too long"]}}"#),
        ]
        for (status, body) in other { #expect(!ProviderErrors.isContextLength(status: status, body: ByteBuffer(string: body)), "\(status) \(body)") }
        // A huge body is not parsed; its beginning is still read as text.
        let huge = "prompt is too long" + String(repeating: " ", count: 1 << 20)
        #expect(ProviderErrors.isContextLength(status: 400, body: ByteBuffer(string: huge)))
    }

    @Test func retryHintsFromHeadersAndGeminiBodies() {
        let none = ByteBuffer()
        #expect(ProviderErrors.retryAfter(headers: [("Retry-After", "7")], body: none) == .seconds(7))
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", " 1.5 ")], body: none) == .milliseconds(1500))
        #expect(ProviderErrors.retryAfter(headers: [("retry-after-ms", "250")], body: none) == .milliseconds(250))
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", "9"), ("Retry-After-Ms", "120.2")], body: none) == .milliseconds(121), "milliseconds win")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", "Fri, 15 Jan 2027 08:00:00 GMT")], body: none, now: now.addingTimeInterval(-42)) == .seconds(42))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        let soon = formatter.string(from: now.addingTimeInterval(42))
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", soon)], body: none, now: now) == .seconds(42))
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", formatter.string(from: now.addingTimeInterval(-60)))], body: none, now: now) == .zero)
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", formatter.string(from: now.addingTimeInterval(86_400)))], body: none, now: now) == .seconds(3600), "bounded")
        let gemini = #"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]}, {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}]}}"#
        #expect(ProviderErrors.retryAfter(headers: [], body: ByteBuffer(string: gemini)) == .seconds(13))
        let fractional = #"{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}}"#
        #expect(ProviderErrors.retryAfter(headers: [], body: ByteBuffer(string: fractional)) == .milliseconds(1500))
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: "3")
        #expect(ProviderErrors.retryAfter(headers: headers, body: none) == .seconds(3))
    }

    @Test func oddRetryHintsAreBoundedOrIgnored() {
        let none = ByteBuffer()
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", "99999999999999999999")], body: none) == .seconds(3600))
        #expect(ProviderErrors.retryAfter(headers: [("retry-after-ms", "1e300")], body: none) == .seconds(3600))
        for odd in ["-5", "inf", "nan", "-inf", "1e400", "abc", "", "0x", "Fri, 99 Foo 2027 99:99:99 GMT"] {
            #expect(ProviderErrors.retryAfter(headers: [("retry-after", odd), ("retry-after-ms", odd)], body: none) == nil, "\(odd)")
        }
        #expect(ProviderErrors.retryAfter(headers: [("retry-after", "0")], body: none) == .zero)
        let bodies = [
            #"{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13"}]}}"#,
            #"{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "-3s"}]}}"#,
            #"{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": 13}]}}"#,
            #"{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "retryDelay": "13s"}]}}"#,
            #"{"error": {"details": "13s"}}"#, #"{"error": "busy"}"#, "[]", "not json", "",
        ]
        for body in bodies { #expect(ProviderErrors.retryAfter(headers: [], body: ByteBuffer(string: body)) == nil, "\(body)") }
        let far = #"{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1e30s"}]}}"#
        #expect(ProviderErrors.retryAfter(headers: [], body: ByteBuffer(string: far)) == .seconds(3600))
    }
}
