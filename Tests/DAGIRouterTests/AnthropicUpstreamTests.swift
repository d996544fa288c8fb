import MeshCore
import NIOCore
import Testing
@testable import DAGIRouter

/// Anthropic's Messages answers read as OpenAI chat: streams cut anywhere, tool calls, usage,
/// stop reasons and upstream garbage.
@Suite struct AnthropicUpstreamTests {
    private func openAIAnswer() -> TranslatedAnswer {
        TranslatedAnswer(upstream: AnthropicUpstream(), client: OpenAIClient(includeUsage: true, model: "claude-alias"), streaming: true)
    }

    @Test func aTextStreamBecomesOpenAIChunksWhereverItIsCut() throws {
        let bytes = ProviderTranscripts.anthropicText
        for cut in 1...bytes.count {
            let (out, answer) = try translate(bytes, cut: cut, openAIAnswer)
            let chunks = try openAIChunks(out)
            let summary = try OpenAIStreamSummary(chunks)
            #expect(chunks.first?["choices"]?[0]?["delta"] == ["role": "assistant", "content": ""], "cut \(cut): the role comes first")
            #expect(summary.roles == ["assistant"])
            #expect(summary.text == "echo: hello there friend", "cut \(cut)")
            #expect(summary.finishReasons == ["stop"])
            #expect(summary.models == ["claude-alias"])
            #expect(chunks.last?["choices"] == [], "the usage chunk comes last")
            // §3.2: prompt = input + cache read + cache write; completion = output (thinking included).
            #expect(answer.usage == TokenUsage(prompt: 15, cached: 5, cacheWrite: 3, completion: 11, reasoning: 7))
            let usage = summary.usage
            #expect(usage?["prompt_tokens"] == 15)
            #expect(usage?["completion_tokens"] == 11)
            #expect(usage?["total_tokens"] == 26)
            #expect(usage?["prompt_tokens_details"]?["cached_tokens"] == 5)
            #expect(usage?["prompt_tokens_details"]?["cache_write_tokens"] == 3)
            #expect(usage?["completion_tokens_details"]?["reasoning_tokens"] == 7)
        }
    }

    @Test func aToolCallStreamsItsIdAndNameFirstThenItsArguments() throws {
        let bytes = ProviderTranscripts.anthropicTool
        for cut in 1...bytes.count {
            let chunks = try openAIChunks(try translate(bytes, cut: cut, openAIAnswer).output)
            let summary = try OpenAIStreamSummary(chunks)
            let first = chunks.first { $0["choices"]?[0]?["delta"]?["tool_calls"] != nil }?["choices"]?[0]?["delta"]?["tool_calls"]?[0]
            #expect(first == ["index": 0, "id": "toolu_fake0002", "type": "function", "function": ["name": "get_weather", "arguments": ""]])
            #expect(summary.calls.count == 1)
            #expect(try JSONValue.parse(Array((summary.calls[0]?.arguments ?? "").utf8)) == ["city": "Paris"], "cut \(cut)")
            #expect(summary.finishReasons == ["tool_calls"])
            #expect(summary.text.isEmpty)
        }
    }

    /// OpenAI's tool call index counts tool calls; Anthropic's block index counts every block.
    @Test func toolCallIndicesCountToolCallsOnly() throws {
        var upstream = AnthropicUpstream()
        let stream = [
            #"{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":9,"output_tokens":1}}}"#,
            #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"c2ln"}}"#,
            #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking."}}"#,
            #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}}"#,
            #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}"#,
            #"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"g","input":{}}}"#,
            #"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            #"{"type":"a_future_event","index":3}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}"#,
            #"{"type":"message_stop"}"#,
        ]
        var chunks: [JSONValue] = []
        for data in stream { chunks += try upstream.chunks(from: event(data)) }
        let summary = try OpenAIStreamSummary(chunks)
        #expect(summary.reasoning == "hmm")
        #expect(summary.text == "Checking.")
        #expect(summary.calls[0]?.id == "toolu_a" && summary.calls[0]?.arguments == #"{"a":1}"#)
        #expect(summary.calls[1]?.id == "toolu_b" && summary.calls[1]?.name == "g" && summary.calls[1]?.arguments == "{}")
        #expect(summary.finishReasons == ["tool_calls"])
        #expect(chunks.allSatisfy { $0["id"] == "msg_1" && $0["model"] == "claude-x" })
        // message_delta's usage left out the input figures: message_start's stand.
        #expect(upstream.usage == TokenUsage(prompt: 9, completion: 30))
    }

    @Test func usageIsCumulativeSoTheLastMessageDeltaWins() throws {
        var upstream = AnthropicUpstream()
        _ = try upstream.chunks(from: event(#"{"type":"message_start","message":{"usage":{"input_tokens":12,"cache_read_input_tokens":4,"output_tokens":1}}}"#))
        _ = try upstream.chunks(from: event(#"{"type":"message_delta","delta":{},"usage":{"output_tokens":5}}"#))
        _ = try upstream.chunks(from: event(#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":20,"output_tokens":15}}"#))
        #expect(upstream.usage == TokenUsage(prompt: 24, cached: 4, completion: 15))
        // The stream ended without message_stop: its finish reason is still owed.
        let owed = upstream.finish()
        #expect(owed.last?["choices"]?[0]?["finish_reason"] == "length")
        #expect(upstream.finish().isEmpty, "owed once")
    }

    @Test func anErrorEventEndsTheAnswer() throws {
        #expect(throws: UpstreamStreamError.self) { _ = try translate(ProviderTranscripts.anthropicError, cut: 64, openAIAnswer) }
        var upstream = AnthropicUpstream()
        var thrown: UpstreamStreamError?
        do {
            for item in try events(ProviderTranscripts.anthropicError) { _ = try upstream.chunks(from: item) }
        } catch let error as UpstreamStreamError {
            thrown = error
        }
        #expect(thrown?.message == "overloaded_error: Overloaded")
    }

    @Test func stopReasonsMapAsTheNotesSay() {
        let table: [(String?, String)] = [
            ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
            ("model_context_window_exceeded", "length"), ("refusal", "content_filter"), ("pause_turn", "stop"),
            (nil, "stop"), ("something_new", "stop"),
        ]
        for (anthropic, openAI) in table { #expect(AnthropicUpstream.finishReason(anthropic) == openAI, "\(anthropic ?? "nil")") }
    }

    @Test func aWholeMessageBecomesACompletion() throws {
        var upstream = AnthropicUpstream()
        let message: JSONValue = [
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                ["type": "thinking", "thinking": "Paris?", "signature": "c2ln"],
                ["type": "text", "text": "Let me "], ["type": "text", "text": "check."],
                ["type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": ["city": "Paris"]],
                ["type": "tool_use", "id": "toolu_02", "name": "get_time"],
            ],
            "stop_reason": "tool_use", "stop_sequence": .null,
            "usage": [
                "input_tokens": 7, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 10,
                "output_tokens_details": ["thinking_tokens": 7],
            ],
        ]
        let completion = try upstream.completion(from: message)
        let choice = completion["choices"]?[0]
        #expect(completion["object"] == "chat.completion")
        #expect(completion["id"] == "msg_01")
        #expect(choice?["message"]?["content"] == "Let me check.")
        #expect(choice?["message"]?["reasoning_content"] == "Paris?")
        #expect(choice?["message"]?["tool_calls"] == [
            ["id": "toolu_01", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]],
            ["id": "toolu_02", "type": "function", "function": ["name": "get_time", "arguments": "{}"]],
        ])
        #expect(choice?["finish_reason"] == "tool_calls")
        #expect(completion["usage"]?["prompt_tokens"] == 15)
        #expect(completion["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 5)
        #expect(completion["usage"]?["prompt_tokens_details"]?["cache_write_tokens"] == 3)
        #expect(completion["usage"]?["completion_tokens"] == 10)
        #expect(completion["usage"]?["completion_tokens_details"]?["reasoning_tokens"] == 7)
        #expect(upstream.usage == TokenUsage(prompt: 15, cached: 5, cacheWrite: 3, completion: 10, reasoning: 7))
    }

    @Test func aWholeToolOnlyMessageHasNullContent() throws {
        var upstream = AnthropicUpstream()
        let body = #"{"id": "msg_fake0004", "type": "message", "role": "assistant", "model": "claude-x", "content": [{"type": "tool_use", "id": "toolu_fake0004", "name": "get_weather", "input": {"city": "Paris"}}], "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 6, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 9}}"#
        let answer = TranslatedAnswer(upstream: upstream, client: OpenAIClient(includeUsage: false, model: "alias"), streaming: false)
        _ = try answer.feed(ByteBuffer(string: body))
        let completion = try JSONValue.parse(try answer.finish()!.readableBytesView)
        #expect(completion["model"] == "alias")
        #expect(completion["choices"]?[0]?["message"]?["content"] == .null)
        #expect(completion["choices"]?[0]?["message"]?["tool_calls"]?[0]?["function"]?["arguments"] == #"{"city":"Paris"}"#)
        #expect(answer.usage == TokenUsage(prompt: 14, cached: 5, cacheWrite: 3, completion: 9))
        _ = try upstream.completion(from: ["content": [], "stop_reason": "max_tokens"])
        #expect(try upstream.completion(from: ["content": [], "stop_reason": "max_tokens"])["choices"]?[0]?["message"]?["content"] == "")
    }

    @Test func upstreamGarbageNeverTraps() throws {
        var upstream = AnthropicUpstream()
        let garbage = [
            "", "[]", "42", #""message_start""#, "null", "{", #"{"type":7}"#, #"{"type":"message_start","message":"x"}"#,
            #"{"type":"message_start","message":{"id":7,"model":[],"usage":{"input_tokens":1e300,"output_tokens":-5}}}"#,
            #"{"type":"content_block_start","index":"0","content_block":{"type":"tool_use"}}"#,
            #"{"type":"content_block_start","index":99999999999999999999,"content_block":{"type":"tool_use","id":[],"name":{}}}"#,
            #"{"type":"content_block_start","index":1,"content_block":"tool_use"}"#,
            #"{"type":"content_block_delta","index":1e400,"delta":{"type":"input_json_delta","partial_json":7}}"#,
            #"{"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            #"{"type":"content_block_delta","delta":{"type":"text_delta","text":["x"]}}"#,
            #"{"type":"message_delta","delta":[],"usage":{"output_tokens":"many","cache_read_input_tokens":9223372036854775807}}"#,
            #"{"type":"message_delta","usage":[1,2]}"#,
        ]
        var chunks: [JSONValue] = []
        for data in garbage { chunks += try upstream.chunks(from: event(data)) }
        #expect(upstream.finish().isEmpty, "no stop reason came: the stream was cut short")
        #expect(chunks.first?["choices"]?[0]?["delta"]?["role"] == "assistant")
        #expect(chunks.allSatisfy { $0["choices"]?[0]?["finish_reason"] == .null })
        // Absurd counts are bounded, so no later sum can overflow.
        #expect((upstream.usage?.prompt ?? 0) <= 1 << 41)
        for bad: JSONValue in [[], 42, "x", .null] { #expect(throws: UpstreamStreamError.self) { _ = try upstream.completion(from: bad) } }
        #expect(throws: UpstreamStreamError.self) { _ = try upstream.completion(from: ["type": "error", "error": ["type": "api_error", "message": "no"]]) }
        let odd = try upstream.completion(from: ["content": "text", "usage": "none", "stop_reason": 3, "id": ["x"]])
        #expect(odd["choices"]?[0]?["finish_reason"] == "stop")
        #expect(odd["usage"]?["prompt_tokens"] == 0)
        // A huge id is not copied into every chunk.
        var fresh = AnthropicUpstream()
        let long = String(repeating: "x", count: 10_000)
        let first = try fresh.chunks(from: event(#"{"type":"message_start","message":{"id":"\#(long)"}}"#))
        #expect(first.first?["id"] == "chatcmpl-dagi")
    }
}

/// What tells a client's hang-up after the answer's end from one in the middle of it.
@Suite struct AnswerEndTests {
    /// Every prefix of `bytes` fed, then the rest: the answer ends only with its last event.
    private func endsOnlyAtTheEnd(_ bytes: [UInt8], _ make: () -> TranslatedAnswer) throws {
        let answer = make()
        let half = bytes.count / 2
        _ = try answer.feed(ByteBuffer(bytes: bytes[..<half]))
        #expect(!answer.answerEnded, "half an answer has not ended")
        _ = try answer.feed(ByteBuffer(bytes: bytes[half...]))
        #expect(answer.answerEnded)
    }

    @Test func anthropicEndsWithItsStopReason() throws {
        try endsOnlyAtTheEnd(ProviderTranscripts.anthropicText) {
            TranslatedAnswer(upstream: AnthropicUpstream(), client: OpenAIClient(includeUsage: false, model: "m"), streaming: true)
        }
    }

    @Test func geminiEndsWhenEveryCandidateFinished() throws {
        try endsOnlyAtTheEnd(ProviderTranscripts.geminiText) {
            TranslatedAnswer(upstream: GeminiUpstream(), client: OpenAIClient(includeUsage: false, model: "m"), streaming: true)
        }
    }

    @Test func openAIEndsWithItsUsageChunk() throws {
        let stream = Array("""
            data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

            data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}

            data: [DONE]


            """.utf8)
        try endsOnlyAtTheEnd(stream) {
            TranslatedAnswer(upstream: OpenAIUpstream(), client: AnthropicClient(model: "m"), streaming: true)
        }
    }
}
