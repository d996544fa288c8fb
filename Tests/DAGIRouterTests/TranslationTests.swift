import MeshCore
import MeshHTTP
import NIOCore
import Testing
@testable import DAGIRouter

/// Ollama's API over an OpenAI-compatible server, both ways, streams cut anywhere.
@Suite struct TranslationTests {
    @Test func ollamaChatBecomesAnOpenAIRequest() throws {
        let body: JSONValue = [
            "model": "smol", "stream": true, "format": "json",
            "messages": [
                ["role": "user", "content": "hi", "images": ["aGk="]],
                ["role": "assistant", "content": "", "tool_calls": [["function": ["name": "f", "arguments": ["city": "Paris"]]]]],
            ],
            "options": ["num_predict": 5, "temperature": 0.2, "num_ctx": 4096, "ignore_eos": true],
        ]
        let request = try OllamaTranslation.chatRequest(body, endpoint: .ollamaChat, model: "smol-physical", stream: true)
        #expect(request["model"] == "smol-physical")
        #expect(request["max_tokens"] == 5)
        #expect(request["temperature"] == 0.2)
        #expect(request["num_ctx"] == nil, "Ollama's own options stay behind")
        #expect(request["ignore_eos"] == true, "llama.cpp extras pass through")
        #expect(request["response_format"]?["type"] == "json_object")
        #expect(request["stream_options"]?["include_usage"] == true)
        let call = request["messages"]?.arrayValue?[1]["tool_calls"]?.arrayValue?.first
        #expect(call?["function"]?["arguments"] == #"{"city":"Paris"}"#, "arguments travel as a JSON string")
        #expect(request["messages"]?.arrayValue?[0]["images"] == nil)
    }

    @Test func anOpenAIStreamBecomesOllamaLinesWhereverItIsCut() throws {
        let stream = """
            data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\r\n\r\n\
            data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n\
            : a comment\n\
            data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n\
            data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n\
            data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}\n\n\
            data: [DONE]\n\n
            """
        let bytes = Array(stream.utf8)
        for cut in [1, 2, 3, 7, 64, bytes.count] {
            let answer = AnswerKind.translated(upstream: .openAI, client: .ollama(.ollamaChat, model: "smol", started: .now), stream: true).makeAdapter()
            var out = ""
            var index = 0
            while index < bytes.count {
                let piece = ByteBuffer(bytes: bytes[index..<min(bytes.count, index + cut)])
                if let lines = try answer.feed(piece) { out += String(buffer: lines) }
                index += cut
            }
            if let last = try answer.finish() { out += String(buffer: last) }
            let lines = out.split(separator: "\n").map { try! JSONValue.parse(Array($0.utf8)) }
            #expect(lines.count == 3, "cut \(cut): \(out)")
            #expect(lines.compactMap { $0["message"]?["content"]?.stringValue }.joined() == "Hello")
            #expect(lines.last?["done"] == true)
            #expect(lines.last?["done_reason"] == "length")
            #expect(lines.last?["prompt_eval_count"] == 7)
            #expect(lines.last?["eval_count"] == 2)
        }
    }

    @Test func aWholeAnswerIsTranslatedOnceComplete() throws {
        let answer = AnswerKind.translated(upstream: .openAI, client: .ollama(.ollamaGenerate, model: "smol", started: .now), stream: false).makeAdapter()
        let body = #"{"choices":[{"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#
        #expect(try answer.feed(ByteBuffer(string: String(body.prefix(10)))) == nil)
        #expect(try answer.feed(ByteBuffer(string: String(body.dropFirst(10)))) == nil)
        let out = try JSONValue.parse(try answer.finish()!.readableBytesView)
        #expect(out["response"] == "Hi!")
        #expect(out["done"] == true)
        #expect(out["eval_count"] == 2)
    }

    @Test func eventsAreBoundedAndSplitLikeTheSpecSays() throws {
        var reader = ServerSentEventReader()
        let events = try reader.feed(ByteBuffer(string: "event: ping\ndata: a\ndata: b\n\nid: 3\nretry: 5\ndata:c\r\r"))
        #expect(events == [ServerSentEvent(name: "ping", data: Array("a\nb".utf8)), ServerSentEvent(name: nil, data: Array("c".utf8))])
        var endless = ServerSentEventReader()
        #expect(throws: ServerSentEventReader.OversizedEvent.self) {
            _ = try endless.feed(ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: ServerSentEventReader.maxEvent + 1)))
        }
    }

    @Test func upstreamTargetsParseStrictly() {
        #expect(UpstreamTarget(baseURL: "http://127.0.0.1:5801") == UpstreamTarget(tls: false, host: "127.0.0.1", port: 5801))
        #expect(UpstreamTarget(baseURL: "https://api.deepseek.com/v1/") == UpstreamTarget(tls: true, host: "api.deepseek.com", port: 443, pathPrefix: "/v1"))
        #expect(UpstreamTarget(baseURL: "http://[::1]:7007")?.host == "::1")
        #expect(UpstreamTarget(baseURL: "https://api.deepseek.com")?.hostHeader == "api.deepseek.com")
        for bad in ["ftp://x", "http://:80", "http://h:0", "http://h:99999", "http://h:x", "http://[::1"] {
            #expect(UpstreamTarget(baseURL: bad) == nil, "\(bad)")
        }
    }
}
