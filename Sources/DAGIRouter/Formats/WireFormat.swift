import MeshCore
import MeshHTTP
import NIOCore

/// The APIs requests and answers travel in.
enum WireFormat: Sendable, Equatable {
    case openAI, ollama, anthropic, gemini
}

extension Endpoint {
    /// The API a client used.
    var format: WireFormat {
        switch self {
        case .chatCompletions, .completions, .embeddings: return .openAI
        case .ollamaChat, .ollamaGenerate, .ollamaEmbed, .ollamaEmbeddings: return .ollama
        case .anthropicMessages: return .anthropic
        }
    }
}

/// How the client's answer is written when the upstream speaks another API.
enum ClientKind: Sendable {
    case openAI(includeUsage: Bool, model: String)
    case ollama(Endpoint, model: String, started: ContinuousClock.Instant)
    case anthropic(model: String)
    /// A compatibility API's client, told where its request was served.
    case compat(CompatAPI, CompatServing)

    /// How a client of `request`'s API gets its answer, served by `candidate` at `price`.
    init(_ request: InferenceRequest, serving candidate: Candidate, price: Price = .free) {
        if let call = request.compat {
            self = .compat(call.api, CompatServing(call, started: request.started, candidate: candidate, price: price))
            return
        }
        switch request.endpoint.format {
        case .ollama: self = .ollama(request.endpoint, model: request.requestedModel, started: request.started)
        case .anthropic: self = .anthropic(model: request.requestedModel)
        case .openAI, .gemini: self = .openAI(includeUsage: request.wantsUsage, model: request.requestedModel)
        }
    }

    func makeDialect() -> any ClientDialect {
        switch self {
        case .openAI(let includeUsage, let model): return OpenAIClient(includeUsage: includeUsage, model: model)
        case .ollama(let endpoint, let model, let started): return OllamaClient(endpoint: endpoint, model: model, started: started)
        case .anthropic(let model): return AnthropicClient(model: model)
        case .compat(.llmProxy, let serving): return LLMProxyClient(serving: serving)
        case .compat(.providerService, let serving): return ProviderServiceClient(serving: serving)
        }
    }
}

extension WireFormat {
    /// The reader of an upstream answering in this API.
    func makeUpstreamDialect() -> any UpstreamDialect {
        switch self {
        case .openAI, .ollama: return OpenAIUpstream()
        case .anthropic: return AnthropicUpstream()
        case .gemini: return GeminiUpstream()
        }
    }
}

/// Requests in the common form, OpenAI chat, and back out in an upstream's API.
enum RequestTranslation {
    /// The client's request as an OpenAI chat (or embeddings) request for `model`.
    static func openAI(_ request: InferenceRequest, model: String) throws -> JSONValue {
        switch request.endpoint.format {
        case .ollama:
            let document = try parse(request.body)
            switch request.endpoint {
            case .ollamaEmbed, .ollamaEmbeddings: return OllamaTranslation.embedRequest(document, endpoint: request.endpoint, model: model)
            default: return try OllamaTranslation.chatRequest(document, endpoint: request.endpoint, model: model, stream: request.stream)
            }
        case .anthropic:
            guard case .object(var object) = try AnthropicTranslation.openAIRequest(fromMessages: try parse(request.body)) else {
                throw APIError.badRequest("the body must be a JSON object", code: "invalid_json")
            }
            object["model"] = .string(model)
            return .object(object)
        case .openAI, .gemini:
            guard case .object(var object) = try parse(request.body) else { throw APIError.badRequest("the body must be a JSON object", code: "invalid_json") }
            object["model"] = .string(model)
            if request.stream { object["stream_options"] = ["include_usage": true] }
            return .object(object)
        }
    }

    static func parse(_ body: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONValue.parse(body.readableBytesView)
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(error)", code: "invalid_json")
        }
    }

    /// An OpenAI request body that asks a streaming upstream to report usage, inserted as bytes
    /// (the rest of the body untouched), when the client did not say anything about it.
    static func askingForUsage(_ body: ByteBuffer, fields: RequestFields) -> ByteBuffer {
        guard !fields.present.contains("stream_options"), let open = body.readableBytesView.firstIndex(of: UInt8(ascii: "{")) else { return body }
        var out = ByteBuffer()
        out.reserveCapacity(body.readableBytes + 40)
        let bytes = body.readableBytesView
        out.writeBytes(bytes[bytes.startIndex...open])
        out.writeString(#""stream_options":{"include_usage":true}"#)
        if fields.present.count > 0 { out.writeString(",") }
        out.writeBytes(bytes[bytes.index(after: open)...])
        return out
    }
}
