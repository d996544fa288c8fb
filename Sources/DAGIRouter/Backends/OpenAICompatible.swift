import MeshCore
import MeshHTTP
import NIOCore

/// The request and answer of an upstream that speaks OpenAI's API (llama-server, Ollama's /v1,
/// OpenAI, DeepSeek): what every backend that calls one shares.
enum OpenAICompatible {
    /// The body to send for `request` as `model`, and how to read the answer.
    ///
    /// An OpenAI client's body goes as it came (bytes, not a rebuild), the model renamed when the
    /// upstream routes on it; a streamed one asks for usage so the ledger is exact, and the
    /// usage chunk is then kept from a client that did not ask for it. Other clients' requests
    /// are translated, and so are their answers.
    ///
    /// Chat answers name the model as the client asked for it (a model server may call it by
    /// its file's path, a provider by a dated id): a whole one has that one field replaced, a
    /// stream is translated chunk by chunk. Other endpoints' answers (completions, embeddings)
    /// pass unchanged. A compatibility API's answer is always written in its own shape.
    static func call(_ request: InferenceRequest, for candidate: Candidate, renameModel: Bool, price: Price = .free) throws -> (body: ByteBuffer, answer: AnswerKind) {
        let model = candidate.model
        guard request.endpoint.format == .openAI else {
            let body = ByteBuffer(bytes: try RequestTranslation.openAI(request, model: model).serialized())
            return (body, .translated(upstream: .openAI, client: ClientKind(request, serving: candidate, price: price), stream: request.stream))
        }
        var body = renameModel && request.fields.model != model ? request.fields.replacingModel(in: request.body, with: model) : request.body
        guard request.endpoint == .chatCompletions else { return (body, .passthrough) }
        if request.compat != nil {
            return (body, .translated(upstream: .openAI, client: ClientKind(request, serving: candidate, price: price), stream: request.stream))
        }
        guard request.stream else { return (body, .renamed(model: request.requestedModel)) }
        if !request.fields.present.contains("stream_options") {
            body = RequestTranslation.askingForUsage(body, fields: request.fields)
        }
        return (body, .translated(upstream: .openAI, client: ClientKind(request, serving: candidate), stream: true))
    }
}
