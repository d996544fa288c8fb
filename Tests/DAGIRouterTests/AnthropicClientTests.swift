import MeshCore
import NIOCore
import Testing
@testable import DAGIRouter

/// OpenAI chat written for Anthropic Messages clients: the full event sequence (checked the way
/// Anthropic's SDKs put it together), whole messages, usage, stop reasons and error events.
@Suite struct AnthropicClientTests {
    private func anthropicAnswer(from upstream: any UpstreamDialect = OpenAIUpstream()) -> () -> TranslatedAnswer {
        { TranslatedAnswer(upstream: upstream, client: AnthropicClient(model: "claude-alias", id: "msg_test"), streaming: true) }
    }

    @Test func anOpenAITextStreamBecomesAnthropicEventsWhereverItIsCut() throws {
        let bytes = ProviderTranscripts.openAIText
        for cut in 1...bytes.count {
            let (out, answer) = try translate(bytes, cut: cut, anthropicAnswer())
            let message = try anthropicMessage(out)
            #expect(message["id"] == "msg_test" && message["model"] == "claude-alias" && message["role"] == "assistant")
            #expect(message["content"] == [["type": "text", "text": "echo: hello there friend"]], "cut \(cut)")
            #expect(message["stop_reason"] == "end_turn")
            // input_tokens excludes both cache figures: 13 - 5 read - 3 written.
            #expect(message["usage"] == [
                "input_tokens": 5, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3, "output_tokens": 11,
            ])
            #expect(answer.contentType(upstream: "text/event-stream") == "text/event-stream")
        }
    }

    @Test func anOpenAIToolCallBecomesAToolUseBlock() throws {
        let bytes = ProviderTranscripts.openAITool
        for cut in 1...bytes.count {
            let message = try anthropicMessage(try translate(bytes, cut: cut, anthropicAnswer()).output)
            #expect(message["content"] == [["type": "tool_use", "id": "call_fake0004", "name": "get_weather", "input": ["city": "Paris"]]], "cut \(cut)")
            #expect(message["stop_reason"] == "tool_use")
            #expect(message["usage"]?["input_tokens"] == 6)
        }
    }

    @Test func textThenTwoCallsAreThreeBlocksEachClosedBeforeTheNext() throws {
        var client = AnthropicClient(model: "m", id: "msg_x")
        let chunks: [JSONValue] = [
            ["choices": [["index": 0, "delta": ["role": "assistant", "content": ""]]]],
            ["choices": [["index": 0, "delta": ["content": "Checking"]]]],
            ["choices": [["index": 0, "delta": ["tool_calls": [["index": 0, "id": "call.1", "type": "function", "function": ["name": "f", "arguments": ""]]]]]]],
            ["choices": [["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": #"{"a":"#]]]]]]],
            ["choices": [["index": 0, "delta": ["tool_calls": [["index": 1, "id": "call_2", "function": ["name": "g", "arguments": "{}"]]]]]]],
            ["choices": [["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": "1}"]]]]]]],
            ["choices": [["index": 0, "delta": [:], "finish_reason": "stop"]]],
        ]
        var out: [UInt8] = []
        for chunk in chunks { out += client.render(chunk: chunk) }
        out += client.finish(usage: TokenUsage(prompt: 4, completion: 9))
        // The late piece of call 0 goes to its own block (index 1), not the open one: rebuild
        // without the order check to see where each piece went.
        let pieces = try events(out).compactMap { item -> (Int64, String)? in
            let data = try JSONValue.parse(item.data)
            guard let piece = data["delta"]?["partial_json"]?.stringValue, let index = data["index"]?.intValue else { return nil }
            return (index, piece)
        }
        #expect(pieces.map(\.0) == [1, 2, 1] && pieces.map(\.1).joined() == #"{"a":{}1}"#)
        let starts = try events(out).filter { $0.name == "content_block_start" }.map { try JSONValue.parse($0.data)["content_block"] }
        #expect(starts == [
            ["type": "text", "text": ""],
            ["type": "tool_use", "id": "call_1", "name": "f", "input": [:]],
            ["type": "tool_use", "id": "call_2", "name": "g", "input": [:]],
        ])
        let names = try events(out).map { $0.name ?? "" }
        #expect(names.first == "message_start" && names.suffix(2) == ["message_delta", "message_stop"])
        #expect(names.filter { $0 == "content_block_stop" }.count == 3)
        let delta = try JSONValue.parse(try events(out).first { $0.name == "message_delta" }!.data)
        #expect(delta["delta"]?["stop_reason"] == "tool_use", "calls that ended with plain stop still want their results")
        #expect(delta["usage"]?["input_tokens"] == 4 && delta["usage"]?["output_tokens"] == 9)
    }

    @Test func anEmptyStreamIsStillAWholeMessage() throws {
        var client = AnthropicClient(model: "m")
        let message = try anthropicMessage(client.finish(usage: nil))
        #expect(message["content"] == [])
        #expect(message["stop_reason"] == "end_turn")
        #expect(message["usage"]?["output_tokens"] == 0)
        #expect(message["id"]?.stringValue?.hasPrefix("msg_") == true)
        #expect(client.finish(usage: nil).isEmpty, "finished once")
        #expect(client.render(chunk: ["choices": [["delta": ["content": "late"]]]]).isEmpty)
    }

    @Test func finishReasonsMapAsTheNotesSay() {
        let table: [(String?, Bool, String)] = [
            ("stop", false, "end_turn"), ("length", false, "max_tokens"), ("tool_calls", true, "tool_use"),
            ("function_call", false, "tool_use"), ("content_filter", false, "refusal"), (nil, false, "end_turn"),
            ("stop", true, "tool_use"), ("length", true, "max_tokens"), ("weird", false, "end_turn"),
        ]
        for (openAI, calls, anthropic) in table {
            #expect(AnthropicClient.stopReason(openAI, sawToolCall: calls) == anthropic, "\(openAI ?? "nil")")
        }
    }

    @Test func aWholeCompletionBecomesAMessage() throws {
        let client = AnthropicClient(model: "claude-alias", id: "msg_whole")
        let body = #"{"id": "chatcmpl-fake0005", "object": "chat.completion", "created": 1796291597, "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sure.", "tool_calls": [{"id": "call_fake0005", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}, {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "not json"}}]}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 14, "completion_tokens": 9, "total_tokens": 23, "prompt_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 3}}}"#
        let answer = TranslatedAnswer(upstream: OpenAIUpstream(), client: client, streaming: false)
        #expect(answer.contentType(upstream: "application/json") == "application/json")
        _ = try answer.feed(ByteBuffer(string: body))
        let message = try JSONValue.parse(try answer.finish()!.readableBytesView)
        #expect(message == [
            "id": "msg_whole", "type": "message", "role": "assistant", "model": "claude-alias",
            "content": [
                ["type": "text", "text": "Sure."],
                ["type": "tool_use", "id": "call_fake0005", "name": "get_weather", "input": ["city": "Paris"]],
                ["type": "tool_use", "id": "call_2", "name": "g", "input": [:]],
            ],
            "stop_reason": "tool_use", "stop_sequence": .null,
            "usage": ["input_tokens": 6, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3, "output_tokens": 9],
        ])
        let odd = try JSONValue.parse(client.render(completion: ["choices": "none", "usage": ["prompt_tokens": -3]]))
        #expect(odd["content"] == [] && odd["stop_reason"] == "end_turn" && odd["usage"]?["input_tokens"] == 0)
    }

    @Test func anErrorAfterTheFirstByteIsAnAnthropicErrorEvent() throws {
        let trailer = AnthropicClient(model: "m").errorTrailer("upstream went away", requestID: "req_1")!
        let all = try events(Array(trailer.readableBytesView))
        #expect(all.count == 1 && all[0].name == "error")
        #expect(try JSONValue.parse(all[0].data) == [
            "type": "error", "error": ["type": "api_error", "message": "upstream went away"], "request_id": "req_1",
        ])
    }

    /// An Anthropic answer read as OpenAI and written back for an Anthropic client says what
    /// the original said.
    @Test func anAnthropicStreamSurvivesTheRoundTrip() throws {
        for (bytes, content, usage) in [
            (ProviderTranscripts.anthropicTool, [["type": "tool_use", "id": "toolu_fake0002", "name": "get_weather", "input": ["city": "Paris"]]] as JSONValue,
             ["input_tokens": 6, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3, "output_tokens": 9] as JSONValue),
            (ProviderTranscripts.anthropicText, [["type": "text", "text": "echo: hello there friend"]],
             ["input_tokens": 7, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3, "output_tokens": 11]),
        ] {
            for cut in [1, 5, 64, bytes.count] {
                let message = try anthropicMessage(try translate(bytes, cut: cut, anthropicAnswer(from: AnthropicUpstream())).output)
                #expect(message["content"] == content)
                #expect(message["usage"] == usage)
            }
        }
        let fromGemini = try anthropicMessage(try translate(ProviderTranscripts.geminiTool, cut: 3, anthropicAnswer(from: GeminiUpstream())).output)
        #expect(fromGemini["content"] == [["type": "tool_use", "id": "call_0", "name": "get_weather", "input": ["city": "Paris"]]])
        #expect(fromGemini["stop_reason"] == "tool_use")
    }

    @Test func oddChunksNeverTrapAndTheSequenceStaysWellFormed() throws {
        var client = AnthropicClient(model: "m")
        let odd: [JSONValue] = [
            [], "x", 7, .null, ["choices": "x"], ["choices": []], ["choices": [7]], ["choices": [["delta": "x"]]],
            ["choices": [["delta": ["content": 5, "tool_calls": "x"]]]],
            ["choices": [["delta": ["tool_calls": [7, ["index": .number(1e20), "id": 1, "function": "f"]]]]]],
            ["choices": [["delta": ["tool_calls": [["index": -4, "function": ["arguments": ["a": 1]]]]]]]],
            ["choices": [["delta": ["content": "ok"], "finish_reason": 3]]],
        ]
        var out: [UInt8] = []
        for chunk in odd { out += client.render(chunk: chunk) }
        out += client.finish(usage: TokenUsage(prompt: 1 << 40, cached: 1 << 40, cacheWrite: 1 << 40, completion: 1 << 40))
        let message = try anthropicMessage(out)
        #expect(message["usage"]?["input_tokens"] == 0, "a negative remainder is zero")
        #expect(message["content"]?.arrayValue?.last == ["type": "text", "text": "ok"])
    }
}
