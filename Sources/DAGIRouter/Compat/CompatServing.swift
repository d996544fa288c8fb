import MeshCore

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

    init(_ call: CompatCall, started: ContinuousClock.Instant, candidate: Candidate, price: Price) {
        provider = candidate.provider ?? candidate.node
        model = call.model
        physicalModel = candidate.model
        self.price = price
        self.started = started
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
