import MeshCore
import NIOCore
import Testing
@testable import DAGIRouter

/// Gemini's generateContent answers read as OpenAI chat: CRLF streams cut anywhere, whole
/// function calls, finish reasons, blocked prompts, usage and upstream garbage.
@Suite struct GeminiUpstreamTests {
    private func openAIAnswer() -> TranslatedAnswer {
        TranslatedAnswer(upstream: GeminiUpstream(), client: OpenAIClient(includeUsage: true, model: "gemini-alias"), streaming: true)
    }

    @Test func aTextStreamBecomesOpenAIChunksWhereverItIsCut() throws {
        let bytes = ProviderTranscripts.geminiText
        for cut in 1...bytes.count {
            let (out, answer) = try translate(bytes, cut: cut, openAIAnswer)
            let chunks = try openAIChunks(out)
            let summary = try OpenAIStreamSummary(chunks)
            #expect(chunks.first?["choices"]?[0]?["delta"] == ["role": "assistant", "content": ""])
            #expect(summary.roles == ["assistant"])
            #expect(summary.text == "echo: hello there friend", "cut \(cut)")
            #expect(summary.finishReasons == ["stop"])
            #expect(summary.models == ["gemini-alias"])
            // §3.2: completion = candidates + thoughts; the total matches Gemini's totalTokenCount.
            #expect(answer.usage == TokenUsage(prompt: 15, cached: 5, completion: 11, reasoning: 7))
            #expect(summary.usage?["total_tokens"] == 26)
            #expect(summary.usage?["prompt_tokens_details"]?["cached_tokens"] == 5)
            #expect(summary.usage?["completion_tokens_details"]?["reasoning_tokens"] == 7)
        }
    }

    @Test func aFunctionCallArrivesWholeWithAMadeUpId() throws {
        let bytes = ProviderTranscripts.geminiTool
        for cut in 1...bytes.count {
            let chunks = try openAIChunks(try translate(bytes, cut: cut, openAIAnswer).output)
            let summary = try OpenAIStreamSummary(chunks)
            let call = chunks.first { $0["choices"]?[0]?["delta"]?["tool_calls"] != nil }?["choices"]?[0]?["delta"]?["tool_calls"]?[0]
            #expect(call == ["index": 0, "id": "call_0", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]])
            #expect(summary.finishReasons == ["tool_calls"], "STOP after a function call is a tool call finish")
            #expect(summary.text.isEmpty)
        }
    }

    @Test func severalCallsAndThoughtsInOneChunk() throws {
        var upstream = GeminiUpstream()
        let chunks = try upstream.chunks(from: event(#"""
            {"candidates":[{"content":{"role":"model","parts":[
              {"text":"Planning","thought":true},{"text":"Both."},
              {"functionCall":{"name":"f","args":{"a":[1,2]}},"thoughtSignature":"c2ln"},
              {"functionCall":{"name":"g"}}]},"finishReason":"STOP","index":0}],
             "usageMetadata":{"promptTokenCount":10,"toolUsePromptTokenCount":4,"candidatesTokenCount":6},"responseId":"r9","modelVersion":"gemini-x"}
            """#))
        let summary = try OpenAIStreamSummary(chunks)
        #expect(summary.reasoning == "Planning")
        #expect(summary.text == "Both.")
        #expect(summary.calls[0]?.id == "call_0" && summary.calls[0]?.arguments == #"{"a":[1,2]}"#)
        #expect(summary.calls[1]?.id == "call_1" && summary.calls[1]?.name == "g" && summary.calls[1]?.arguments == "{}")
        #expect(summary.finishReasons == ["tool_calls"])
        #expect(chunks.allSatisfy { $0["id"] == "r9" && $0["model"] == "gemini-x" })
        // Missing counts are zero; tool-use prompt tokens are prompt tokens.
        #expect(upstream.usage == TokenUsage(prompt: 14, completion: 6))
        #expect(upstream.finish().isEmpty, "the finish reason was sent")
    }

    @Test func aStreamThatEndsWithoutAFinishReasonGetsOne() throws {
        var text = GeminiUpstream()
        _ = try text.chunks(from: event(#"{"candidates":[{"content":{"parts":[{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}"#))
        _ = try text.chunks(from: event(#"{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2}}"#))
        #expect(text.finish().map { $0["choices"]?[0]?["finish_reason"] } == ["stop"])
        #expect(text.usage == TokenUsage(prompt: 3, completion: 2), "the last usage wins")
        var call = GeminiUpstream()
        _ = try call.chunks(from: event(#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]}}]}"#))
        #expect(call.finish().map { $0["choices"]?[0]?["finish_reason"] } == ["tool_calls"])
        var nothing = GeminiUpstream()
        #expect(nothing.finish().isEmpty)
    }

    @Test func aBlockedPromptIsAContentFilterFinish() throws {
        var upstream = GeminiUpstream()
        let chunks = try upstream.chunks(from: event(#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8}}"#))
        #expect(chunks.map { $0["choices"]?[0]?["delta"] } == [["role": "assistant", "content": ""], [:]])
        #expect(chunks.last?["choices"]?[0]?["finish_reason"] == "content_filter")
        #expect(upstream.finish().isEmpty)
        let whole = try GeminiUpstream().completionCopy(from: ["promptFeedback": ["blockReason": "PROHIBITED_CONTENT"]])
        #expect(whole["choices"]?[0]?["finish_reason"] == "content_filter")
        #expect(whole["choices"]?[0]?["message"]?["content"] == "")
    }

    @Test func anInStreamErrorEndsTheAnswer() throws {
        #expect(throws: UpstreamStreamError.self) { _ = try translate(ProviderTranscripts.geminiError, cut: 7, openAIAnswer) }
        var upstream = GeminiUpstream()
        let all = try events(ProviderTranscripts.geminiError)
        _ = try upstream.chunks(from: all[0])
        #expect(throws: UpstreamStreamError.self) { _ = try upstream.chunks(from: all[1]) }
    }

    @Test func finishReasonsMapAsTheNotesSay() {
        let table: [(String, Bool, String)] = [
            ("STOP", false, "stop"), ("STOP", true, "tool_calls"), ("MAX_TOKENS", false, "length"), ("MAX_TOKENS", true, "length"),
            ("SAFETY", false, "content_filter"), ("RECITATION", false, "content_filter"), ("BLOCKLIST", false, "content_filter"),
            ("PROHIBITED_CONTENT", false, "content_filter"), ("SPII", false, "content_filter"), ("IMAGE_SAFETY", false, "content_filter"),
            ("MALFORMED_FUNCTION_CALL", true, "stop"), ("UNEXPECTED_TOOL_CALL", false, "stop"), ("LANGUAGE", false, "stop"),
            ("OTHER", false, "stop"), ("FINISH_REASON_UNSPECIFIED", false, "stop"), ("SOMETHING_NEW", false, "stop"),
        ]
        for (gemini, call, openAI) in table { #expect(GeminiUpstream.finishReason(gemini, sawToolCall: call) == openAI, "\(gemini)") }
    }

    @Test func aWholeResponseBecomesACompletion() throws {
        var upstream = GeminiUpstream()
        let completion = try upstream.completion(from: [
            "candidates": [
                ["content": ["role": "model", "parts": [["text": "Hi"], ["text": "hmm", "thought": true], ["functionCall": ["name": "f", "args": ["city": "Paris"]]]]],
                 "finishReason": "STOP", "index": 0],
                ["content": ["role": "model", "parts": [["text": "Hello"]]], "finishReason": "MAX_TOKENS", "index": 1],
            ],
            "usageMetadata": ["promptTokenCount": 15, "candidatesTokenCount": 3, "totalTokenCount": 25, "cachedContentTokenCount": 5, "thoughtsTokenCount": 7],
            "modelVersion": "gemini-x", "responseId": "r1",
        ])
        let first = completion["choices"]?[0]
        #expect(first?["message"]?["content"] == "Hi")
        #expect(first?["message"]?["reasoning_content"] == "hmm")
        #expect(first?["message"]?["tool_calls"] == [["id": "call_0", "type": "function", "function": ["name": "f", "arguments": #"{"city":"Paris"}"#]]])
        #expect(first?["finish_reason"] == "tool_calls")
        #expect(completion["choices"]?[1]?["index"] == 1 && completion["choices"]?[1]?["finish_reason"] == "length")
        #expect(completion["usage"]?["prompt_tokens"] == 15)
        #expect(completion["usage"]?["completion_tokens"] == 10)
        #expect(completion["usage"]?["total_tokens"] == 25)
        #expect(upstream.usage == TokenUsage(prompt: 15, cached: 5, completion: 10, reasoning: 7))
    }

    @Test func upstreamGarbageNeverTraps() throws {
        var upstream = GeminiUpstream()
        let garbage = [
            "", "[]", "7", "null", "{", #"{"candidates":"x"}"#, #"{"candidates":[7,"x",null]}"#,
            #"{"candidates":[{"index":99999999999999999999,"content":{"parts":[{"text":"lost"}]}}]}"#,
            #"{"candidates":[{"index":-1,"content":{"parts":[{"text":"lost"}]}}]}"#,
            #"{"candidates":[{"index":8,"content":{"parts":[{"text":"lost"}]}}]}"#,
            #"{"candidates":[{"index":"0","content":{"parts":"text"}}]}"#,
            #"{"candidates":[{"content":{"parts":[{"text":5},{"functionCall":"f"},{"functionCall":{"name":7,"args":"x"}}]},"finishReason":9}]}"#,
            #"{"usageMetadata":{"promptTokenCount":1e300,"candidatesTokenCount":-4,"thoughtsTokenCount":"7","totalTokenCount":9223372036854775807}}"#,
            #"{"promptFeedback":{"blockReason":7}}"#, #"{"responseId":{"a":1},"modelVersion":[]}"#,
        ]
        var chunks: [JSONValue] = []
        for data in garbage { chunks += try upstream.chunks(from: event(data)) }
        chunks += upstream.finish()
        let summary = try OpenAIStreamSummary(chunks)
        #expect(summary.text.isEmpty, "candidates outside 0..<8 are not followed")
        #expect(summary.calls.count == 1 && summary.calls[0]?.arguments == #""x""#)
        #expect(summary.finishReasons == ["tool_calls"])
        #expect(upstream.usage == TokenUsage())
        for bad: JSONValue in [[], 42, "x", .null, ["error": ["code": 500]]] {
            #expect(throws: UpstreamStreamError.self) { _ = try upstream.completion(from: bad) }
        }
        let odd = try upstream.completion(from: ["candidates": [["content": "x", "finishReason": ["a"]]], "usageMetadata": "none"])
        #expect(odd["choices"]?[0]?["finish_reason"] == "stop")
    }
}

extension GeminiUpstream {
    /// `completion(from:)` on a copy, for expressions.
    func completionCopy(from answer: JSONValue) throws -> JSONValue {
        var copy = self
        return try copy.completion(from: answer)
    }
}
