import Foundation
import MeshCore
import MeshHTTP
import NIOCore

/// Translation between Ollama's API and OpenAI's, for Ollama requests served by an
/// OpenAI-compatible model server (llama-server behind the Swapper). Follows Ollama's
/// documented shapes, including the final chunk's `done_reason`, durations and counts.
enum OllamaTranslation {
    // MARK: Requests

    /// An Ollama request's body as the OpenAI request an OpenAI-compatible server takes.
    static func openAIRequest(_ request: InferenceRequest, model: String) throws -> ByteBuffer {
        let document: JSONValue
        do {
            document = try JSONValue.parse(request.body.readableBytesView)
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        let translated: JSONValue
        switch request.endpoint {
        case .ollamaEmbed, .ollamaEmbeddings: translated = embedRequest(document, endpoint: request.endpoint, model: model)
        default: translated = try chatRequest(document, endpoint: request.endpoint, model: model, stream: request.stream)
        }
        return ByteBuffer(bytes: translated.serialized())
    }

    /// `/api/chat` or `/api/generate` → an OpenAI chat completion request.
    static func chatRequest(_ body: JSONValue, endpoint: Endpoint, model: String, stream: Bool) throws -> JSONValue {
        var request: [String: JSONValue] = ["model": .string(model), "stream": .bool(stream)]
        if endpoint == .ollamaGenerate {
            var messages: [JSONValue] = []
            if let system = body["system"]?.stringValue { messages.append(["role": "system", "content": .string(system)]) }
            messages.append(["role": "user", "content": .string(body["prompt"]?.stringValue ?? "")])
            request["messages"] = .array(messages)
        } else {
            guard let messages = body["messages"]?.arrayValue else {
                throw APIError.missingField("messages")
            }
            request["messages"] = .array(messages.map(openAIMessage))
            if let tools = body["tools"] { request["tools"] = tools }
        }
        if stream { request["stream_options"] = ["include_usage": true] }
        if let format = body["format"] {
            if format.stringValue == "json" {
                request["response_format"] = ["type": "json_object"]
            } else if format.objectValue != nil {
                request["response_format"] = ["type": "json_schema", "json_schema": ["name": "response", "schema": format]]
            }
        }
        if let options = body["options"]?.objectValue {
            let mapping = [
                "temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "seed": "seed", "stop": "stop",
                "num_predict": "max_tokens", "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty",
                "repeat_penalty": "repeat_penalty", "min_p": "min_p",
            ]
            for (ollama, openAI) in mapping { if let value = options[ollama] { request[openAI] = value } }
            // Options Ollama does not define pass through: llama.cpp reads extras such as ignore_eos.
            let known: Set<String> = [
                "num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread", "num_keep", "typical_p",
                "repeat_last_n", "tfs_z", "mirostat", "mirostat_tau", "mirostat_eta", "penalize_newline", "numa",
            ]
            for (key, value) in options where mapping[key] == nil && !known.contains(key) && request[key] == nil {
                request[key] = value
            }
        }
        return .object(request)
    }

    /// Ollama messages carry tool-call arguments as objects; OpenAI's as JSON strings.
    private static func openAIMessage(_ message: JSONValue) -> JSONValue {
        guard var object = message.objectValue else { return message }
        object.removeValue(forKey: "images")
        object.removeValue(forKey: "thinking")
        if let calls = object["tool_calls"]?.arrayValue {
            object["tool_calls"] = .array(calls.enumerated().map { index, call in
                var function = call["function"]?.objectValue ?? [:]
                if let arguments = function["arguments"], arguments.stringValue == nil {
                    function["arguments"] = .string(arguments.jsonString)
                }
                return ["id": .string("call_\(index)"), "type": "function", "function": .object(function)]
            })
        }
        return .object(object)
    }

    /// `/api/embed` or `/api/embeddings` → an OpenAI embeddings request.
    static func embedRequest(_ body: JSONValue, endpoint: Endpoint, model: String) -> JSONValue {
        let input = endpoint == .ollamaEmbeddings ? body["prompt"] ?? "" : body["input"] ?? ""
        return ["model": .string(model), "input": input]
    }

    // MARK: Responses

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    /// Counts and durations for a final chunk, from OpenAI's usage and llama.cpp's timings.
    static func stats(usage: JSONValue?, timings: JSONValue?, total: Duration) -> [String: JSONValue] {
        let totalNs = total.inNanoseconds
        let promptMs = timings?["prompt_ms"]?.doubleValue
        let predictedMs = timings?["predicted_ms"]?.doubleValue
        return [
            "total_duration": .int(totalNs),
            "load_duration": .int(0),
            "prompt_eval_count": .int(usage?["prompt_tokens"]?.intValue ?? timings?["prompt_n"]?.intValue ?? 0),
            // llama.cpp's timings are an upstream's JSON: a NaN or huge value becomes 0, never a trap.
            "prompt_eval_duration": .int(Int64(scaling: promptMs ?? 0, by: 1_000_000).map { max(0, $0) } ?? 0),
            "eval_count": .int(usage?["completion_tokens"]?.intValue ?? timings?["predicted_n"]?.intValue ?? 0),
            "eval_duration": .int(Int64(scaling: predictedMs ?? 0, by: 1_000_000).map { max(0, $0) } ?? 0),
        ]
    }

    static func doneReason(_ finish: String?) -> String {
        switch finish {
        case "length": return "length"
        case nil, "stop", "tool_calls": return "stop"
        default: return finish!
        }
    }

    /// A whole OpenAI chat completion → an Ollama chat or generate response.
    static func chatResponse(_ openAI: JSONValue, endpoint: Endpoint, model: String, total: Duration) -> JSONValue {
        let choice = openAI["choices"]?.arrayValue?.first
        let message = choice?["message"]
        var object: [String: JSONValue] = [
            "model": .string(model), "created_at": .string(timestamp()), "done": true,
            "done_reason": .string(doneReason(choice?["finish_reason"]?.stringValue)),
        ]
        let content = message?["content"]?.stringValue ?? ""
        if endpoint == .ollamaGenerate {
            object["response"] = .string(content)
        } else {
            var reply: [String: JSONValue] = ["role": "assistant", "content": .string(content)]
            if let calls = message?["tool_calls"]?.arrayValue, !calls.isEmpty { reply["tool_calls"] = .array(calls.map(ollamaToolCall)) }
            object["message"] = .object(reply)
        }
        object.merge(stats(usage: openAI["usage"], timings: openAI["timings"], total: total)) { $1 }
        return .object(object)
    }

    static func ollamaToolCall(_ call: JSONValue) -> JSONValue {
        var function = call["function"]?.objectValue ?? [:]
        if let text = function["arguments"]?.stringValue, let parsed = try? JSONValue.parse(Array(text.utf8)) {
            function["arguments"] = parsed
        }
        return ["function": .object(function)]
    }

    /// An OpenAI embeddings response → Ollama's.
    static func embedResponse(_ openAI: JSONValue, endpoint: Endpoint, model: String, total: Duration) -> JSONValue {
        let vectors = (openAI["data"]?.arrayValue ?? []).compactMap { $0["embedding"] }
        if endpoint == .ollamaEmbeddings { return ["embedding": vectors.first ?? .array([])] }
        var object: [String: JSONValue] = ["model": .string(model), "embeddings": .array(vectors)]
        let all = stats(usage: openAI["usage"], timings: nil, total: total)
        object["total_duration"] = all["total_duration"]
        object["load_duration"] = .int(0)
        object["prompt_eval_count"] = all["prompt_eval_count"]
        return .object(object)
    }
}
