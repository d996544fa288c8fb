import MeshCore
import MeshHTTP
import Testing
@testable import DAGIRouter

/// Requests between OpenAI chat and Anthropic Messages, both ways: what translates, what is
/// dropped, and what is refused with a 400 naming the field.
@Suite struct AnthropicRequestTests {
    static let png = "data:image/png;base64,iVBORw0KGgo="

    /// A conversation with everything: system turns in the middle, images, tools, two parallel
    /// calls answered by two tool messages, and a user turn right after them.
    static let openAIChat: JSONValue = [
        "model": "gpt-alias", "stream": true, "stream_options": ["include_usage": true],
        "max_completion_tokens": 512, "max_tokens": 100, "temperature": 1.5, "top_p": 0.9, "stop": "\n\n", "user": "u-1",
        "seed": 7, "frequency_penalty": 0.5, "logprobs": true, "parallel_tool_calls": true, "reasoning_effort": "low",
        "response_format": ["type": "json_schema", "json_schema": ["name": "x", "schema": ["type": "object"], "strict": true]],
        "tools": [["type": "function", "function": ["name": "get_weather", "description": "Weather.", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]], "strict": true]]],
        "tool_choice": ["type": "function", "function": ["name": "get_weather"]],
        "messages": [
            ["role": "system", "content": "Be brief."],
            ["role": "user", "content": [["type": "text", "text": "What is this?"], ["type": "image_url", "image_url": ["url": .string(png), "detail": "high"]]]],
            ["role": "developer", "content": [["type": "text", "text": "Use tools."]]],
            ["role": "user", "content": [["type": "image_url", "image_url": ["url": "https://example.com/a.jpg"]]], "name": "ann"],
            ["role": "assistant", "content": .null, "tool_calls": [
                ["id": "call_a", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]],
                ["id": "call:b", "type": "function", "function": ["name": "get_weather", "arguments": ""]],
            ]],
            ["role": "tool", "tool_call_id": "call_a", "content": "18C"],
            ["role": "tool", "tool_call_id": "call:b", "content": [["type": "text", "text": "20C"]]],
            ["role": "user", "content": "Thanks. And tomorrow?"],
        ],
    ]

    @Test func anOpenAIChatBecomesAMessagesRequest() throws {
        let request = try AnthropicTranslation.messagesRequest(fromOpenAI: Self.openAIChat, model: "claude-x", defaultMaxTokens: 4096)
        #expect(request == [
            "model": "claude-x", "stream": true, "max_tokens": 512, "temperature": 1.0, "top_p": 0.9,
            "stop_sequences": ["\n\n"], "metadata": ["user_id": "u-1"],
            "system": [["type": "text", "text": "Be brief."], ["type": "text", "text": "Use tools."]],
            "output_config": ["format": ["type": "json_schema", "schema": ["type": "object"]]],
            "tools": [["name": "get_weather", "description": "Weather.", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]], "strict": true]],
            "tool_choice": ["type": "tool", "name": "get_weather"],
            "messages": [
                ["role": "user", "content": [
                    ["type": "text", "text": "What is this?"],
                    ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="]],
                    ["type": "image", "source": ["type": "url", "url": "https://example.com/a.jpg"]],
                ]],
                ["role": "assistant", "content": [
                    ["type": "tool_use", "id": "call_a", "name": "get_weather", "input": ["city": "Paris"]],
                    ["type": "tool_use", "id": "call_b", "name": "get_weather", "input": [:]],
                ]],
                ["role": "user", "content": [
                    ["type": "tool_result", "tool_use_id": "call_a", "content": [["type": "text", "text": "18C"]]],
                    ["type": "tool_result", "tool_use_id": "call_b", "content": [["type": "text", "text": "20C"]]],
                    ["type": "text", "text": "Thanks. And tomorrow?"],
                ]],
            ],
        ])
    }

    @Test func defaultsAndToolChoices() throws {
        let base: [String: JSONValue] = ["messages": [["role": "user", "content": "hi"]], "tools": [["type": "function", "function": ["name": "f"]]]]
        func translated(_ extra: [String: JSONValue]) throws -> JSONValue {
            try AnthropicTranslation.messagesRequest(fromOpenAI: .object(base.merging(extra) { $1 }), model: "c", defaultMaxTokens: 1024)
        }
        let plain = try translated([:])
        #expect(plain["max_tokens"] == 1024, "Anthropic requires max_tokens")
        #expect(plain["tools"]?[0]?["input_schema"] == ["type": "object", "properties": [:]])
        #expect(plain["tool_choice"] == nil && plain["system"] == nil && plain["stream"] == nil)
        #expect(try translated(["max_tokens": 10])["max_tokens"] == 10)
        #expect(try translated(["tool_choice": "auto"])["tool_choice"] == ["type": "auto"])
        #expect(try translated(["tool_choice": "none"])["tool_choice"] == ["type": "none"])
        #expect(try translated(["tool_choice": "required"])["tool_choice"] == ["type": "any"])
        #expect(try translated(["parallel_tool_calls": false])["tool_choice"] == ["type": "auto", "disable_parallel_tool_use": true])
        #expect(try translated(["parallel_tool_calls": false, "tool_choice": "required"])["tool_choice"] == ["type": "any", "disable_parallel_tool_use": true])
        #expect(try translated(["temperature": 0.3, "n": 1, "stop": .null, "response_format": ["type": "json_object"]]) == [
            "model": "c", "max_tokens": 1024, "temperature": 0.3, "messages": [["role": "user", "content": [["type": "text", "text": "hi"]]]],
            "tools": [["name": "f", "input_schema": ["type": "object", "properties": [:]]]],
        ])
        // Consecutive user turns merge; empty text is left out.
        let merged = try AnthropicTranslation.messagesRequest(fromOpenAI: ["messages": [
            ["role": "user", "content": "a"], ["role": "user", "content": ""], ["role": "user", "content": [["type": "text", "text": "b"]]],
        ]], model: "c", defaultMaxTokens: 1)
        #expect(merged["messages"] == [["role": "user", "content": [["type": "text", "text": "a"], ["type": "text", "text": "b"]]]])
    }

    @Test func whatCannotBeTranslatedIsA400NamingTheField() {
        let user: JSONValue = ["role": "user", "content": "hi"]
        let cases: [(JSONValue, String, String)] = [
            (["messages": [user], "n": 2], "unsupported_parameter", "n"),
            (["messages": [["role": "user", "content": [["type": "input_audio", "input_audio": ["data": "x"]]]]]], "unsupported_content_part", "messages[0].content[0].type"),
            (["messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": "data:image/bmp;base64,Qk0="]]]]]], "unsupported_image_type", "messages[0].content[0].image_url.url"),
            (["messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": "file:///etc/passwd"]]]]]], "invalid_image_url", "messages[0].content[0].image_url.url"),
            (["messages": [user, ["role": "assistant", "tool_calls": [["id": "c", "function": ["name": "f", "arguments": "{\"a\":"]]]]]], "invalid_tool_arguments", "messages[1].tool_calls[0].function.arguments"),
            (["messages": [user, ["role": "assistant", "tool_calls": [["id": "c", "function": ["name": "f", "arguments": "[1]"]]]]]], "invalid_tool_arguments", "messages[1].tool_calls[0].function.arguments"),
            (["messages": [["role": "function", "name": "f", "content": "x"]]], "unsupported_role", "messages[0].role"),
            (["messages": [["content": "x"]]], "missing_field", "messages[0].role"),
            (["messages": [user], "temperature": "hot"], "invalid_type", "temperature"),
            (["messages": [user], "temperature": 3], "invalid_type", "temperature"),
            (["messages": [user], "max_tokens": 0], "invalid_type", "max_tokens"),
            (["messages": [user], "max_tokens": .number(1e300)], "invalid_type", "max_tokens"),
            (["messages": [user], "stop": [1]], "invalid_type", "stop[0]"),
            (["messages": [user], "tools": [["type": "web_search"]]], "unsupported_tool_type", "tools[0].type"),
            (["messages": [user], "tools": [["type": "function", "function": ["name": "f"]]], "tool_choice": "sometimes"], "invalid_type", "tool_choice"),
            (["messages": [user], "response_format": ["type": "json_schema"]], "invalid_type", "response_format.json_schema.schema"),
            (["messages": "hi"], "invalid_type", "messages"),
            (["model": "x"], "missing_field", "messages"),
            (["messages": [7]], "invalid_type", "messages[0]"),
            ([1, 2], "invalid_body", ""),
        ]
        for (body, code, param) in cases {
            #expect(throwsBadRequest(code: code, param: param) { try AnthropicTranslation.messagesRequest(fromOpenAI: body, model: "c", defaultMaxTokens: 1) }, "\(body)")
        }
    }

    static let anthropicMessages: JSONValue = [
        "model": "claude-alias", "max_tokens": 300, "stream": true, "temperature": 0.5, "top_k": 5,
        "stop_sequences": ["END"], "metadata": ["user_id": "u-9"],
        "system": [["type": "text", "text": "Be brief."], ["type": "text", "text": "Use tools.", "cache_control": ["type": "ephemeral"]]],
        "thinking": ["type": "enabled", "budget_tokens": 1024],
        "tools": [["name": "get_weather", "description": "Weather.", "input_schema": ["type": "object"]]],
        "tool_choice": ["type": "any", "disable_parallel_tool_use": true],
        "messages": [
            ["role": "user", "content": "What is the weather?"],
            ["role": "assistant", "content": [
                ["type": "thinking", "thinking": "Paris.", "signature": "c2ln"],
                ["type": "text", "text": "Checking."],
                ["type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": ["city": "Paris"]],
                ["type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": ["city": "Rome"]],
            ]],
            ["role": "user", "content": [
                ["type": "text", "text": "Here:"],
                ["type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"],
                ["type": "tool_result", "tool_use_id": "toolu_2", "content": [
                    ["type": "text", "text": "20C"], ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="]],
                ], "is_error": false],
                ["type": "image", "source": ["type": "url", "url": "https://example.com/a.jpg"]],
            ]],
        ],
    ]

    @Test func aMessagesRequestBecomesAnOpenAIChat() throws {
        let request = try AnthropicTranslation.openAIRequest(fromMessages: Self.anthropicMessages)
        #expect(request == [
            "model": "claude-alias", "max_tokens": 300, "stream": true, "stream_options": ["include_usage": true],
            "temperature": 0.5, "stop": ["END"], "user": "u-9",
            "tools": [["type": "function", "function": ["name": "get_weather", "description": "Weather.", "parameters": ["type": "object"]]]],
            "tool_choice": "required", "parallel_tool_calls": false,
            "messages": [
                ["role": "system", "content": "Be brief.\n\nUse tools."],
                ["role": "user", "content": "What is the weather?"],
                ["role": "assistant", "content": "Checking.", "tool_calls": [
                    ["id": "toolu_1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]],
                    ["id": "toolu_2", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Rome"}"#]],
                ]],
                // Tool results first, in order; the turn's text and images (the tool's too) after.
                ["role": "tool", "tool_call_id": "toolu_1", "content": "18C"],
                ["role": "tool", "tool_call_id": "toolu_2", "content": "20C"],
                ["role": "user", "content": [
                    ["type": "text", "text": "Here:"],
                    ["type": "image_url", "image_url": ["url": .string(Self.png)]],
                    ["type": "image_url", "image_url": ["url": "https://example.com/a.jpg"]],
                ]],
            ],
        ])
        let choices: [(JSONValue, JSONValue)] = [(["type": "auto"], "auto"), (["type": "none"], "none"), (["type": "tool", "name": "f"], ["type": "function", "function": ["name": "f"]])]
        for (anthropic, openAI) in choices {
            let body: JSONValue = ["messages": [["role": "user", "content": "x"]], "tool_choice": anthropic, "stream": false]
            let request = try AnthropicTranslation.openAIRequest(fromMessages: body)
            #expect(request["tool_choice"] == openAI && request["stream"] == nil && request["stream_options"] == nil)
        }
        let refused: [(JSONValue, String, String)] = [
            (["messages": [["role": "user", "content": [["type": "search_result", "source": "x"]]]]], "unsupported_content_block", "messages[0].content[0].type"),
            (["messages": [["role": "user", "content": "x"]], "tools": [["type": "web_search_20250305", "name": "web_search"]]], "unsupported_tool_type", "tools[0].type"),
            (["messages": [["role": "system", "content": "x"]]], "unsupported_role", "messages[0].role"),
            (["messages": [["role": "user", "content": [["type": "image", "source": ["type": "file", "file_id": "f"]]]]]], "unsupported_source", "messages[0].content[0].source.type"),
            (["messages": [["role": "user", "content": 7]]], "invalid_type", "messages[0].content"),
            (["messages": [["role": "user", "content": "x"]], "system": 7], "invalid_type", "system"),
        ]
        for (body, code, param) in refused {
            #expect(throwsBadRequest(code: code, param: param) { try AnthropicTranslation.openAIRequest(fromMessages: body) }, "\(body)")
        }
    }

    /// OpenAI → Anthropic → OpenAI keeps the conversation (system turns are joined into one,
    /// tool ids are cleaned, text content comes back as a string).
    @Test func anOpenAIChatSurvivesTheRoundTrip() throws {
        let there = try AnthropicTranslation.messagesRequest(fromOpenAI: Self.openAIChat, model: "claude-x", defaultMaxTokens: 1)
        let back = try AnthropicTranslation.openAIRequest(fromMessages: there)
        let messages = back["messages"]?.arrayValue ?? []
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["system", "user", "assistant", "tool", "tool", "user"])
        #expect(messages[0]["content"] == "Be brief.\n\nUse tools.")
        #expect(messages[2]["tool_calls"]?[0]?["function"]?["arguments"] == #"{"city":"Paris"}"#)
        #expect(messages[2]["tool_calls"]?[1]?["function"]?["arguments"] == "{}")
        #expect(messages[3] == ["role": "tool", "tool_call_id": "call_a", "content": "18C"])
        #expect(messages[4] == ["role": "tool", "tool_call_id": "call_b", "content": "20C"])
        #expect(messages[5] == ["role": "user", "content": "Thanks. And tomorrow?"])
        #expect(back["tool_choice"] == ["type": "function", "function": ["name": "get_weather"]])
        #expect(back["response_format"]?["json_schema"]?["schema"] == ["type": "object"])
        #expect(back["stop"] == ["\n\n"] && back["user"] == "u-1" && back["max_tokens"] == 512)
    }

    /// Anthropic → OpenAI → Anthropic gives back the request an Anthropic client sent (less what
    /// an OpenAI upstream cannot use: thinking, top_k, cache_control).
    @Test func aMessagesRequestSurvivesTheRoundTrip() throws {
        let original: JSONValue = [
            "max_tokens": 300, "stop_sequences": ["END"], "metadata": ["user_id": "u-9"],
            "system": [["type": "text", "text": "Be brief."]],
            "tools": [["name": "f", "input_schema": ["type": "object"]]], "tool_choice": ["type": "tool", "name": "f"],
            "messages": [
                ["role": "user", "content": [["type": "text", "text": "Hi"], ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="]]]],
                ["role": "assistant", "content": [["type": "text", "text": "Calling."], ["type": "tool_use", "id": "toolu_1", "name": "f", "input": ["a": [1, true]]]]],
                ["role": "user", "content": [["type": "tool_result", "tool_use_id": "toolu_1", "content": [["type": "text", "text": "done"]]], ["type": "text", "text": "Next?"]]],
            ],
        ]
        let back = try AnthropicTranslation.messagesRequest(fromOpenAI: try AnthropicTranslation.openAIRequest(fromMessages: original), model: "claude-x", defaultMaxTokens: 1)
        var expected = original.objectValue!
        expected["model"] = "claude-x"
        #expect(back == .object(expected))
    }
}

/// Whether `body` throws a 400 with this code and `param` (none when `param` is empty).
func throwsBadRequest(code: String, param: String, _ body: () throws -> JSONValue) -> Bool {
    do {
        _ = try body()
        return false
    } catch let error as APIError {
        return error.status == .badRequest && error.code == code && error.param == (param.isEmpty ? nil : param)
    } catch {
        return false
    }
}
