import Foundation
import MeshCore
import NIOCore

/// Where a compatibility request was served, for the fields its answer reports.
struct CompatServing: Sendable {
    /// The model as the client named it (without the provider or node its request pinned).
    let model: String
    /// A cloud provider's name, else the node that served it (either pins it next time).
    let provider: String
    /// The model's name where it ran (a provider's own id).
    let physicalModel: String
    /// What the answer's tokens cost there (nothing on the mesh's own models).
    let price: Price
    let started: ContinuousClock.Instant

    init(_ request: InferenceRequest, candidate: Candidate, price: Price) {
        provider = candidate.provider ?? candidate.node
        let requested = request.requestedModel
        // `provider: openai` became `openai/gpt-4.1-mini` on the way in; the client named `gpt-4.1-mini`.
        model = requested.hasPrefix(provider + "/") ? String(requested.dropFirst(provider.count + 1)) : requested
        physicalModel = candidate.model
        self.price = price
        started = request.started
    }

    var elapsedMs: Double { ((ContinuousClock.now - started).inSeconds * 10_000).rounded() / 10 }

    /// The content, usage and tool calls of an OpenAI chat completion.
    static func read(_ completion: JSONValue) -> (content: String, usage: TokenUsage, toolCalls: JSONValue?) {
        let message = completion["choices"]?.arrayValue?.first?["message"]
        let calls = message?["tool_calls"].flatMap { $0.arrayValue?.isEmpty == false ? $0 : nil }
        return (message?["content"]?.stringValue ?? "", TokenUsage(openAI: completion["usage"]) ?? TokenUsage(), calls)
    }

    /// OpenAI's usage object (the counts are clamped far below overflow).
    static func usageObject(_ usage: TokenUsage) -> JSONValue {
        ["prompt_tokens": .int(usage.prompt), "completion_tokens": .int(usage.completion), "total_tokens": .int(usage.prompt + usage.completion)]
    }
}

/// The LLM proxy's answer: `{content, usage, provider, model_resolved, latency_ms}`, always whole
/// (the proxy never streamed).
struct LLMProxyClient: ClientDialect {
    let serving: CompatServing

    func contentType(streaming: Bool) -> String { "application/json" }
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
            "response_time_ms": .number(serving.elapsedMs), "timestamp": .number((Date().timeIntervalSince1970 * 1000).rounded() / 1000),
        ]
        if let calls { answer["tool_calls"] = calls }
        return JSONValue.object(answer).serialized()
    }

    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? { stream.errorTrailer(message, requestID: requestID) }
}
