import MeshCore

/// What an answer used, in OpenAI's terms whatever the upstream's: `prompt` counts every input
/// token (cached ones and cache writes included), `completion` every output token (reasoning
/// included). Built from each API's own usage fields as its documentation defines them.
struct TokenUsage: Sendable, Equatable {
    var prompt: Int64 = 0
    /// Input tokens read from a cache (billed at the cached rate).
    var cached: Int64 = 0
    /// Input tokens written to a cache (Anthropic; billed at the cache-write rate).
    var cacheWrite: Int64 = 0
    var completion: Int64 = 0
    /// Output tokens spent on reasoning (a part of `completion`).
    var reasoning: Int64 = 0

    /// OpenAI's (and DeepSeek's, llama.cpp's) `usage`.
    init?(openAI usage: JSONValue?) {
        guard let usage, let prompt = usage["prompt_tokens"]?.intValue else { return nil }
        self.prompt = Self.clamp(prompt)
        completion = Self.clamp(usage["completion_tokens"]?.intValue ?? 0)
        cached = Self.clamp(usage["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? usage["prompt_cache_hit_tokens"]?.intValue ?? 0)
        cacheWrite = Self.clamp(usage["prompt_tokens_details"]?["cache_write_tokens"]?.intValue ?? 0)
        reasoning = Self.clamp(usage["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
    }

    /// Anthropic's `usage`: `input_tokens` excludes both cache figures.
    init(anthropic usage: JSONValue?) {
        let input = Self.clamp(usage?["input_tokens"]?.intValue ?? 0)
        cached = Self.clamp(usage?["cache_read_input_tokens"]?.intValue ?? 0)
        cacheWrite = Self.clamp(usage?["cache_creation_input_tokens"]?.intValue ?? 0)
        prompt = input &+ cached &+ cacheWrite
        completion = Self.clamp(usage?["output_tokens"]?.intValue ?? 0)
        reasoning = Self.clamp(usage?["output_tokens_details"]?["thinking_tokens"]?.intValue ?? 0)
    }

    /// Gemini's `usageMetadata`: candidates exclude thoughts; missing counts are zero.
    init(gemini metadata: JSONValue?) {
        prompt = Self.clamp(metadata?["promptTokenCount"]?.intValue ?? 0) &+ Self.clamp(metadata?["toolUsePromptTokenCount"]?.intValue ?? 0)
        cached = Self.clamp(metadata?["cachedContentTokenCount"]?.intValue ?? 0)
        reasoning = Self.clamp(metadata?["thoughtsTokenCount"]?.intValue ?? 0)
        completion = Self.clamp(metadata?["candidatesTokenCount"]?.intValue ?? 0) &+ reasoning
    }

    /// Ollama's final-chunk counts.
    init?(ollama chunk: JSONValue?) {
        guard let chunk, chunk["prompt_eval_count"] != nil || chunk["eval_count"] != nil else { return nil }
        prompt = Self.clamp(chunk["prompt_eval_count"]?.intValue ?? 0)
        completion = Self.clamp(chunk["eval_count"]?.intValue ?? 0)
    }

    init(prompt: Int64 = 0, cached: Int64 = 0, cacheWrite: Int64 = 0, completion: Int64 = 0, reasoning: Int64 = 0) {
        self.prompt = prompt
        self.cached = cached
        self.cacheWrite = cacheWrite
        self.completion = completion
        self.reasoning = reasoning
    }

    /// OpenAI's `usage` object, as the router reports it to OpenAI clients. Cache writes (an
    /// Anthropic upstream's) go in `cache_write_tokens`, as OpenAI's SDK 3.x types name them.
    var openAI: JSONValue {
        var details: [String: JSONValue] = ["cached_tokens": .int(cached)]
        if cacheWrite > 0 { details["cache_write_tokens"] = .int(cacheWrite) }
        return [
            "prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt &+ completion),
            "prompt_tokens_details": .object(details),
            "completion_tokens_details": ["reasoning_tokens": .int(reasoning)],
        ]
    }

    /// Upstream counts are untrusted: negative or absurd values become zero or a bound, so no
    /// later sum or price can trap.
    static func clamp(_ value: Int64) -> Int64 { min(max(0, value), 1 << 40) }
}
