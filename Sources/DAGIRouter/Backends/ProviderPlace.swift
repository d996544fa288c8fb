import MeshCore
import MeshHTTP
import NIOCore

/// A cloud provider, called from this node with its key: the request in the provider's API
/// (translated when the client spoke another), its authentication headers, and the answer read
/// back through the provider's dialect. The key goes into the upstream request's headers and
/// nowhere else.
struct ProviderPlace: Backend {
    let cloud: CloudProviders

    /// The Messages API version sent: the one under which OpenAI's sampling parameters
    /// (`temperature`, `top_p`) are still accepted.
    static let anthropicVersion = "2023-06-01"

    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard let name = candidate.provider, let provider = cloud.providers[name] else {
            throw AttemptFailure("provider \(candidate.provider ?? "?") is not available (\(cloud.disabled[candidate.provider ?? ""] ?? "not configured"))")
        }
        let model = cloud.models.values.first { $0.provider == name && $0.id == candidate.model }
        let (path, body, headers, answer) = try build(request, provider: provider, candidate: candidate, defaultMaxTokens: model?.defaultMaxTokens ?? 4096)
        let head = UpstreamCall.head(path: path, target: provider.target, client: request.head, body: body, requestID: request.requestID, extra: headers)
        return UpstreamCall(target: provider.target, isProvider: true, head: head, body: body, answer: answer, release: nil, peerNonce: nil)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        try prepareNow(request, for: candidate)!
    }

    /// The path, body and headers for `provider`, and how to read its answer.
    private func build(
        _ request: InferenceRequest, provider: CloudProviders.Provider, candidate: Candidate, defaultMaxTokens: Int
    ) throws -> (String, ByteBuffer, [(String, String)], AnswerKind) {
        let model = candidate.model
        let price = cloud.price(provider: provider.name, id: model)
        let client = ClientKind(request, serving: candidate, price: price)
        switch provider.kind {
        case .openai:
            let path: String
            switch request.endpoint {
            case .embeddings, .ollamaEmbed, .ollamaEmbeddings: path = "/embeddings"
            case .completions: path = "/completions"
            default: path = "/chat/completions"
            }
            let (body, answer) = try OpenAICompatible.call(request, for: candidate, renameModel: true, price: price)
            return (path, body, [("authorization", "Bearer \(provider.key)")], answer)
        case .anthropic:
            try Self.requireChat(request, provider)
            let headers = [("x-api-key", provider.key), ("anthropic-version", Self.anthropicVersion)]
            if request.endpoint.format == .anthropic {
                // An Anthropic client to Anthropic: its own body, the model renamed (and, for an
                // agent with prompt_cache: auto, its stable parts marked for the prompt cache).
                let renamed = request.fields.replacingModel(in: request.body, with: model)
                guard request.promptCache, let document = try? JSONValue.parse(renamed.readableBytesView) else {
                    return ("/v1/messages", renamed, headers, .observed(upstream: .anthropic))
                }
                return ("/v1/messages", ByteBuffer(bytes: AnthropicPromptCache.withBreakpoints(document).serialized()), headers, .observed(upstream: .anthropic))
            }
            let openAI = try RequestTranslation.openAI(request, model: model)
            var body = try AnthropicTranslation.messagesRequest(fromOpenAI: openAI, model: model, defaultMaxTokens: defaultMaxTokens)
            if request.promptCache { body = AnthropicPromptCache.withBreakpoints(body) }
            return ("/v1/messages", ByteBuffer(bytes: body.serialized()), headers, .translated(upstream: .anthropic, client: client, stream: request.stream))
        case .gemini:
            try Self.requireChat(request, provider)
            let openAI = try RequestTranslation.openAI(request, model: model)
            let body = try GeminiTranslation.request(fromOpenAI: openAI)
            return (
                GeminiTranslation.path(model: model, stream: request.stream), ByteBuffer(bytes: body.serialized()), [("x-goog-api-key", provider.key)],
                .translated(upstream: .gemini, client: client, stream: request.stream)
            )
        }
    }

    /// Anthropic and Gemini are reached for chat only (their embeddings and completions APIs are
    /// other shapes): anything else is the client's error, not a failed attempt.
    private static func requireChat(_ request: InferenceRequest, _ provider: CloudProviders.Provider) throws {
        switch request.endpoint {
        case .chatCompletions, .ollamaChat, .ollamaGenerate, .anthropicMessages: return
        default:
            throw APIError.badRequest("\(provider.name) (\(provider.kind.rawValue)) serves chat only, not \(request.endpoint.path)", code: "unsupported_endpoint")
        }
    }
}

extension InferenceRequest {
    /// Whether an OpenAI client asked for the usage chunk of its stream.
    var wantsUsage: Bool {
        guard fields.present.contains("stream_options"), let document = try? JSONValue.parse(body.readableBytesView) else { return false }
        return document["stream_options"]?["include_usage"]?.boolValue == true
    }
}
