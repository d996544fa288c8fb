import MeshCore
import MeshHTTP
import NIOCore

/// A cloud provider, called from this node with its key: the request in the provider's API
/// (translated when the client spoke another), its authentication headers, and the answer read
/// back through the provider's dialect. The key goes into the upstream request's headers and
/// nowhere else.
struct ProviderPlace: Backend {
    let cloud: CloudProviders

    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard let name = candidate.provider, let provider = cloud.providers[name] else {
            throw AttemptFailure("provider \(candidate.provider ?? "?") is not available (\(cloud.disabled[candidate.provider ?? ""] ?? "not configured"))")
        }
        let model = cloud.models.values.first { $0.provider == name && $0.id == candidate.model }
        let (path, body, headers, upstream) = try build(request, provider: provider, model: candidate.model, defaultMaxTokens: model?.defaultMaxTokens ?? 4096)
        let answer: AnswerKind
        if upstream == request.endpoint.format, upstream != .openAI || !request.stream || request.fields.present.contains("stream_options") {
            answer = .passthrough
        } else {
            answer = .translated(upstream: upstream, client: Self.client(for: request), stream: request.stream)
        }
        let head = UpstreamCall.head(path: path, target: provider.target, client: request.head, body: body, requestID: request.requestID, extra: headers)
        return UpstreamCall(target: provider.target, isProvider: true, head: head, body: body, answer: answer, release: nil, peerNonce: nil)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        try prepareNow(request, for: candidate)!
    }

    /// The path, body and headers for `provider`, and the API its answer will be in.
    private func build(
        _ request: InferenceRequest, provider: CloudProviders.Provider, model: String, defaultMaxTokens: Int
    ) throws -> (String, ByteBuffer, [(String, String)], WireFormat) {
        switch provider.kind {
        case .openai:
            let path: String
            switch request.endpoint {
            case .embeddings, .ollamaEmbed, .ollamaEmbeddings: path = "/embeddings"
            case .completions: path = "/completions"
            default: path = "/chat/completions"
            }
            let body: ByteBuffer
            if request.endpoint.format == .openAI {
                // The client's own body, the model renamed and usage asked for: bytes, not a rebuild.
                let renamed = request.fields.replacingModel(in: request.body, with: model)
                body = request.stream ? RequestTranslation.askingForUsage(renamed, fields: try RequestFields.read(renamed)) : renamed
            } else {
                body = ByteBuffer(bytes: try RequestTranslation.openAI(request, model: model).serialized())
            }
            return (path, body, [("authorization", "Bearer \(provider.key)")], .openAI)
        case .anthropic, .gemini:
            throw AttemptFailure("\(provider.kind.rawValue) providers are not wired yet")
        }
    }

    /// How the client's answer is written, by the API it called.
    static func client(for request: InferenceRequest) -> ClientKind {
        switch request.endpoint.format {
        case .ollama: return .ollama(request.endpoint, model: request.requestedModel, started: request.started)
        default: return .openAI(includeUsage: request.wantsUsage, model: request.requestedModel)
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
