import MeshCore
import MeshHTTP
import NIOCore

/// This node's Ollama: its native API for Ollama clients, its OpenAI-compatible one for the
/// rest (translated for Anthropic's), with the model named as Ollama knows it.
struct OllamaPlace: Backend {
    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard let target = UpstreamTarget(baseURL: candidate.baseURL) else { throw AttemptFailure("Ollama's address is not an http URL") }
        if request.endpoint.format == .ollama {
            let body = request.fields.model == candidate.model ? request.body : request.fields.replacingModel(in: request.body, with: candidate.model)
            let head = UpstreamCall.head(path: request.endpoint.path, target: target, client: request.head, body: body, requestID: request.requestID)
            return UpstreamCall(target: target, isProvider: false, head: head, body: body, answer: .passthrough, release: nil, peerNonce: nil)
        }
        let (body, answer) = try OpenAICompatible.call(request, for: candidate, renameModel: true)
        let head = UpstreamCall.head(path: request.endpoint.openAIPath, target: target, client: request.head, body: body, requestID: request.requestID)
        return UpstreamCall(target: target, isProvider: false, head: head, body: body, answer: answer, release: nil, peerNonce: nil)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        try prepareNow(request, for: candidate)!
    }
}
