import MeshCore
import MeshHTTP
import Testing
@testable import DAGIRouter

/// OpenAI chat requests as Gemini generateContent requests, and the path a model id makes.
@Suite struct GeminiRequestTests {
    /// Gemini's own names: it refuses anything else (400 "Unknown name").
    static let topLevel: Set<String> = ["contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent", "serviceTier"]
    static let generationConfig: Set<String> = [
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities", "candidateCount",
        "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs",
        "logprobs", "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig", "mediaResolution",
    ]

    @Test func anOpenAIChatBecomesAGenerateContentRequest() throws {
        let body: JSONValue = [
            "model": "gemini-alias", "stream": true, "stream_options": ["include_usage": true], "user": "u-1", "parallel_tool_calls": false,
            "max_tokens": 256, "temperature": 1.5, "top_p": 0.9, "stop": ["a", "b"], "seed": 7, "n": 2, "presence_penalty": 0.5,
            "response_format": ["type": "json_schema", "json_schema": ["name": "x", "schema": ["type": "object"]]],
            "tools": [["type": "function", "function": ["name": "get_weather", "description": "Weather.", "parameters": ["type": "object", "additionalProperties": false]]]],
            "tool_choice": "required",
            "messages": [
                ["role": "system", "content": "Be brief."],
                ["role": "user", "content": [["type": "text", "text": "What is this?"], ["type": "image_url", "image_url": ["url": "data:image/png;base64,iVBORw0KGgo="]]]],
                ["role": "developer", "content": "Use tools."],
                ["role": "user", "content": [["type": "file", "file": ["file_data": "data:application/pdf;base64,JVBERi0="]]]],
                ["role": "assistant", "content": "Checking.", "tool_calls": [
                    ["id": "call_0", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]],
                    ["id": "call_1", "type": "function", "function": ["name": "get_time", "arguments": ""]],
                ]],
                ["role": "tool", "tool_call_id": "call_0", "content": #"{"temp": 18}"#],
                ["role": "tool", "tool_call_id": "call_1", "content": [["type": "text", "text": "noon"]]],
                ["role": "user", "content": "Thanks."],
            ],
        ]
        let request = try GeminiTranslation.request(fromOpenAI: body)
        #expect(request == [
            "systemInstruction": ["parts": [["text": "Be brief."], ["text": "Use tools."]]],
            "contents": [
                ["role": "user", "parts": [
                    ["text": "What is this?"], ["inlineData": ["mimeType": "image/png", "data": "iVBORw0KGgo="]],
                    ["inlineData": ["mimeType": "application/pdf", "data": "JVBERi0="]],
                ]],
                ["role": "model", "parts": [
                    ["text": "Checking."],
                    ["functionCall": ["name": "get_weather", "args": ["city": "Paris"]]],
                    ["functionCall": ["name": "get_time", "args": [:]]],
                ]],
                ["role": "user", "parts": [
                    ["functionResponse": ["name": "get_weather", "response": ["result": ["temp": 18]]]],
                    ["functionResponse": ["name": "get_time", "response": ["result": "noon"]]],
                    ["text": "Thanks."],
                ]],
            ],
            "tools": [["functionDeclarations": [["name": "get_weather", "description": "Weather.", "parametersJsonSchema": ["type": "object", "additionalProperties": false]]]]],
            "toolConfig": ["functionCallingConfig": ["mode": "ANY"]],
            "generationConfig": [
                "maxOutputTokens": 256, "temperature": 1.5, "topP": 0.9, "stopSequences": ["a", "b"], "seed": 7, "candidateCount": 2,
                "presencePenalty": 0.5, "responseMimeType": "application/json", "responseJsonSchema": ["type": "object"],
            ],
        ])
        #expect(Set(request.objectValue!.keys).isSubset(of: Self.topLevel), "no OpenAI name at the top level")
        #expect(Set(request["generationConfig"]!.objectValue!.keys).isSubset(of: Self.generationConfig))
    }

    @Test func toolChoicesFormatsAndTheBareMinimum() throws {
        let base: [String: JSONValue] = ["messages": [["role": "user", "content": "hi"]]]
        func translated(_ extra: [String: JSONValue]) throws -> JSONValue {
            try GeminiTranslation.request(fromOpenAI: .object(base.merging(extra) { $1 }))
        }
        #expect(try translated([:]) == ["contents": [["role": "user", "parts": [["text": "hi"]]]]])
        #expect(try translated(["tool_choice": "auto"])["toolConfig"] == ["functionCallingConfig": ["mode": "AUTO"]])
        #expect(try translated(["tool_choice": "none"])["toolConfig"] == ["functionCallingConfig": ["mode": "NONE"]])
        #expect(try translated(["tool_choice": ["type": "function", "function": ["name": "f"]]])["toolConfig"]
            == ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": ["f"]]])
        #expect(try translated(["response_format": ["type": "json_object"]])["generationConfig"] == ["responseMimeType": "application/json"])
        #expect(try translated(["response_format": ["type": "text"], "n": 1, "max_completion_tokens": 9, "max_tokens": 5])["generationConfig"] == ["maxOutputTokens": 9])
        #expect(try translated(["tools": [["type": "function", "function": ["name": "f"]]]])["tools"] == [["functionDeclarations": [["name": "f"]]]])
    }

    /// OpenAI tool messages only name a call id; Gemini wants the function's name, taken from
    /// the nearest earlier call with that id (Gemini's made-up `call_<n>` ids repeat across turns).
    @Test func functionResponsesAreNamedByTheNearestEarlierCall() throws {
        func call(_ name: String) -> JSONValue { ["role": "assistant", "tool_calls": [["id": "call_0", "type": "function", "function": ["name": .string(name), "arguments": "{}"]]]] }
        let request = try GeminiTranslation.request(fromOpenAI: ["messages": [
            ["role": "user", "content": "x"], call("first"), ["role": "tool", "tool_call_id": "call_0", "content": "[1, 2]"],
            call("second"), ["role": "tool", "tool_call_id": "call_0", "content": ""],
        ]])
        let responses = (request["contents"]?.arrayValue ?? []).flatMap { $0["parts"]?.arrayValue ?? [] }.compactMap { $0["functionResponse"] }
        #expect(responses == [
            ["name": "first", "response": ["result": "[1, 2]"]], ["name": "second", "response": ["result": ""]],
        ], "only a JSON object result is sent as an object")
    }

    @Test func whatCannotBeTranslatedIsA400NamingTheField() {
        let user: JSONValue = ["role": "user", "content": "hi"]
        let cases: [(JSONValue, String, String)] = [
            (["messages": [user, ["role": "tool", "tool_call_id": "call_9", "content": "x"]]], "unknown_tool_call_id", "messages[1].tool_call_id"),
            (["messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": "https://example.com/a.png"]]]]]], "unsupported_media_url", "messages[0].content[0].image_url.url"),
            (["messages": [["role": "user", "content": [["type": "input_audio"]]]]], "unsupported_content_part", "messages[0].content[0].type"),
            (["messages": [user], "stop": ["1", "2", "3", "4", "5", "6"]], "too_many_stop_sequences", "stop"),
            (["messages": [user], "n": 9], "invalid_type", "n"),
            (["messages": [user], "seed": .number(1e19)], "invalid_type", "seed"),
            (["messages": [user, ["role": "assistant", "tool_calls": [["id": "c", "function": ["name": "f", "arguments": "nope"]]]]]], "invalid_tool_arguments", "messages[1].tool_calls[0].function.arguments"),
            (["messages": [["role": "tool"]]], "missing_field", "messages[0].tool_call_id"),
            (["messages": [user], "tool_choice": 3], "invalid_type", "tool_choice"),
            (["messages": [user], "response_format": ["type": "grammar"]], "invalid_type", "response_format.type"),
            (["messages": [user], "tools": [["type": "custom", "custom": ["name": "x"]]]], "unsupported_tool_type", "tools[0].type"),
            ("messages", "invalid_body", ""),
        ]
        for (body, code, param) in cases {
            #expect(throwsBadRequest(code: code, param: param) { try GeminiTranslation.request(fromOpenAI: body) }, "\(body)")
        }
    }

    @Test func theModelIdCannotChangeThePath() {
        #expect(GeminiTranslation.path(model: "gemini-2.5-flash", stream: false) == "/v1beta/models/gemini-2.5-flash:generateContent")
        #expect(GeminiTranslation.path(model: "gemini-2.5-flash", stream: true) == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        let hostile: [(String, String)] = [
            ("../../v1/files", "%2E%2E%2F%2E%2E%2Fv1%2Ffiles"), ("a?key=x", "a%3Fkey%3Dx"), ("a#b", "a%23b"), ("..", "%2E%2E"),
            ("x:countTokens", "x%3AcountTokens"), ("a b%", "a%20b%25"), ("é", "%C3%A9"), ("a...b", "a%2E%2E%2Eb"), ("", ""),
        ]
        for (model, encoded) in hostile {
            let path = GeminiTranslation.path(model: model, stream: false)
            #expect(path == "/v1beta/models/\(encoded):generateContent", "\(model)")
            #expect(!path.dropFirst("/v1beta/models/".count).contains("/") && !path.contains("?") && !path.contains("#") && !path.contains(".."))
        }
    }
}
