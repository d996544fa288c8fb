import MeshCore
import NIOCore

/// The LLM proxy's answer: `{content, usage, provider, model_resolved, latency_ms}`, always whole
/// (the proxy never streamed).
struct LLMProxyClient: ClientDialect {
    let serving: CompatServing

    func contentType(streaming: Bool) -> String { "application/json" }
    // The proxy's requests never stream (their `stream` is dropped when they are read): no chunks come.
    mutating func render(chunk: JSONValue) -> [UInt8] { [] }
    mutating func finish(usage: TokenUsage?) -> [UInt8] { [] }

    func render(completion: JSONValue) -> [UInt8] {
        let (content, usage, calls) = CompatServing.read(completion)
        var answer: [String: JSONValue] = [
            "content": .string(content), "usage": CompatServing.usageObject(usage), "provider": .string(serving.provider),
            "model_resolved": .string(serving.physicalModel), "latency_ms": .number(serving.elapsedMs),
        ]
        if let calls { answer["tool_calls"] = calls }
        return JSONValue.object(answer).serialized()
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { nil }
}

/// The AI provider service's answer: `{content, model, provider, usage, cost_estimate,
/// response_time_ms, timestamp}`; with `stream: true`, OpenAI chat chunks as server-sent events.
struct ProviderServiceClient: ClientDialect {
    let serving: CompatServing
    private var stream: OpenAIClient

    init(serving: CompatServing) {
        self.serving = serving
        stream = OpenAIClient(includeUsage: false, model: serving.model)
    }

    func contentType(streaming: Bool) -> String { stream.contentType(streaming: streaming) }
    mutating func render(chunk: JSONValue) -> [UInt8] { stream.render(chunk: chunk) }
    mutating func finish(usage: TokenUsage?) -> [UInt8] { stream.finish(usage: usage) }

    func render(completion: JSONValue) -> [UInt8] {
        let (content, usage, calls) = CompatServing.read(completion)
        var answer: [String: JSONValue] = [
            "content": .string(content), "model": .string(serving.model), "provider": .string(serving.provider),
            "usage": CompatServing.usageObject(usage), "cost_estimate": .number(serving.price.cost(of: usage)),
            "response_time_ms": .number(serving.elapsedMs), "timestamp": .unixTime(),
        ]
        if let calls { answer["tool_calls"] = calls }
        return JSONValue.object(answer).serialized()
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { stream.errorTrailer(message, requestID: requestID) }
}
