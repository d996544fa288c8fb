import Foundation

/// Streams captured from `scripts/fixtures/fake_provider.py` (which follows each provider's
/// documented wire format), byte for byte. Usage figures were set with `/_control`:
/// cached_tokens 5, cache_creation_tokens 3, reasoning_tokens 7 (Gemini has no cache writes).
enum ProviderTranscripts {
    /// Anthropic: a text answer (P = 15: input 7 + cache read 5 + cache write 3; output 11 with 7 thinking).
    static let anthropicText = Array(#"""
event: message_start
data: {"type": "message_start", "message": {"id": "msg_fake0001", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 7, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "echo: "}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hello "}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "there "}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "friend"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"input_tokens": 7, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 11, "output_tokens_details": {"thinking_tokens": 7}}}

event: message_stop
data: {"type": "message_stop"}


"""#.utf8)

    /// Anthropic: a get_weather call, its input in three pieces.
    static let anthropicTool = Array(#"""
event: message_start
data: {"type": "message_start", "message": {"id": "msg_fake0002", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 6, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_fake0002", "name": "get_weather", "input": {}}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": " \"Paris\""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "}"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"input_tokens": 6, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 9, "output_tokens_details": {"thinking_tokens": 7}}}

event: message_stop
data: {"type": "message_stop"}


"""#.utf8)

    /// Anthropic: an overloaded error event after three events.
    static let anthropicError = Array(#"""
event: message_start
data: {"type": "message_start", "message": {"id": "msg_fake0010", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 13, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


"""#.utf8)

    /// OpenAI with include_usage: a text answer (prompt 13, cached 5, cache write 3, completion 11 with 7 reasoning).
    static let openAIText = Array(#"""
data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"content": "echo: "}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"content": "hello "}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"content": "there "}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"content": "friend"}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}], "usage": null}

data: {"id": "chatcmpl-fake0003", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [], "usage": {"prompt_tokens": 13, "completion_tokens": 11, "total_tokens": 24, "prompt_tokens_details": {"cached_tokens": 5, "audio_tokens": 0, "cache_write_tokens": 3}, "completion_tokens_details": {"reasoning_tokens": 7, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}}

data: [DONE]


"""#.utf8)

    /// OpenAI with include_usage: a get_weather call, arguments in three pieces.
    static let openAITool = Array(#"""
data: {"id": "chatcmpl-fake0004", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"role": "assistant", "content": null, "refusal": null, "tool_calls": [{"index": 0, "id": "call_fake0004", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0004", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0004", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": " \"Paris\""}}]}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0004", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}, "logprobs": null, "finish_reason": null}], "usage": null}

data: {"id": "chatcmpl-fake0004", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "tool_calls"}], "usage": null}

data: {"id": "chatcmpl-fake0004", "object": "chat.completion.chunk", "created": 1796291597, "model": "m", "system_fingerprint": "fp_fake", "choices": [], "usage": {"prompt_tokens": 14, "completion_tokens": 9, "total_tokens": 23, "prompt_tokens_details": {"cached_tokens": 5, "audio_tokens": 0, "cache_write_tokens": 3}, "completion_tokens_details": {"reasoning_tokens": 7, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}}

data: [DONE]


"""#.utf8)

    /// Gemini: a text answer (prompt 15, cached 5, candidates 4, thoughts 7, total 26). Events end with CRLF CRLF, as Google sends them.
    static let geminiText = geminiEvents([
        #"{"candidates": [{"content": {"parts": [{"text": "echo: "}], "role": "model"}, "index": 0}], "usageMetadata": {"promptTokenCount": 15, "candidatesTokenCount": 1, "totalTokenCount": 23, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 15}], "cachedContentTokenCount": 5, "thoughtsTokenCount": 7}, "modelVersion": "gemini-x", "responseId": "fake0001"}"#,
        #"{"candidates": [{"content": {"parts": [{"text": "hello "}], "role": "model"}, "index": 0}], "usageMetadata": {"promptTokenCount": 15, "candidatesTokenCount": 2, "totalTokenCount": 24, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 15}], "cachedContentTokenCount": 5, "thoughtsTokenCount": 7}, "modelVersion": "gemini-x", "responseId": "fake0001"}"#,
        #"{"candidates": [{"content": {"parts": [{"text": "there "}], "role": "model"}, "index": 0}], "usageMetadata": {"promptTokenCount": 15, "candidatesTokenCount": 3, "totalTokenCount": 25, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 15}], "cachedContentTokenCount": 5, "thoughtsTokenCount": 7}, "modelVersion": "gemini-x", "responseId": "fake0001"}"#,
        #"{"candidates": [{"content": {"parts": [{"text": "friend"}], "role": "model"}, "index": 0, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 15, "candidatesTokenCount": 4, "totalTokenCount": 26, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 15}], "cachedContentTokenCount": 5, "thoughtsTokenCount": 7}, "modelVersion": "gemini-x", "responseId": "fake0001"}"#,
    ])

    /// Gemini: a whole get_weather call in one chunk. Events end with CRLF CRLF, as Google sends them.
    static let geminiTool = geminiEvents([
        #"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}], "role": "model"}, "index": 0, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": 2, "totalTokenCount": 23, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 14}], "cachedContentTokenCount": 5, "thoughtsTokenCount": 7}, "modelVersion": "gemini-x", "responseId": "fake0002"}"#,
    ])

    /// Gemini: an in-stream error after the first chunk. Events end with CRLF CRLF, as Google sends them.
    static let geminiError = geminiEvents([
        #"{"candidates": [{"content": {"parts": [{"text": "echo: "}], "role": "model"}, "index": 0}], "usageMetadata": {"promptTokenCount": 13, "candidatesTokenCount": 1, "totalTokenCount": 14, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 13}]}, "modelVersion": "gemini-x", "responseId": "fake0009"}"#,
        #"{"error": {"code": 500, "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "status": "INTERNAL"}}"#,
    ])

    static func geminiEvents(_ data: [String]) -> [UInt8] { Array(data.map { "data: \($0)\r\n\r\n" }.joined().utf8) }
}
