import MeshCore
import MeshHTTP
import NIOCore

/// This node's Swapper: a lease on the model's running server (taken at once when it is
/// loaded and has room, else after it starts), then its OpenAI API — translated for Ollama's.
struct SwapperPlace: Backend {
    let local: any LocalModelBackend

    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard let lease = local.tryAcquireNow(candidate.model) else { return nil }
        return try call(request, candidate, lease)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        let lease: LocalLease
        do {
            lease = try await local.acquire(candidate.model, timeout: timeout)
        } catch let error as APIError {
            throw AttemptFailure(error.message, answer: error)
        } catch {
            throw AttemptFailure("\(error)")
        }
        return try call(request, candidate, lease)
    }

    private func call(_ request: InferenceRequest, _ candidate: Candidate, _ lease: LocalLease) throws -> UpstreamCall {
        guard let target = UpstreamTarget(baseURL: lease.baseURL) else {
            lease.release()
            throw AttemptFailure("the model server's address \(lease.baseURL) is not an http URL")
        }
        var body = request.body
        var answer = AnswerKind.passthrough
        if request.endpoint.isOllama {
            do {
                body = try OllamaTranslation.openAIRequest(request, model: candidate.model)
            } catch {
                lease.release()
                throw error
            }
            answer = .translated(upstream: .openAI, client: .ollama(request.endpoint, model: candidate.model, started: request.started), stream: request.stream)
        }
        let head = UpstreamCall.head(path: request.endpoint.openAIPath, target: target, client: request.head, body: body, requestID: request.requestID)
        return UpstreamCall(target: target, isProvider: false, head: head, body: body, answer: answer, release: lease.release, peerNonce: nil)
    }
}

/// This node's Ollama: its native API for Ollama clients, its OpenAI-compatible one for the
/// rest, with the model named as Ollama knows it.
struct OllamaPlace: Backend {
    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard let target = UpstreamTarget(baseURL: candidate.baseURL) else { throw AttemptFailure("Ollama's address is not an http URL") }
        let body = request.fields.model == candidate.model ? request.body : request.fields.replacingModel(in: request.body, with: candidate.model)
        let path = request.endpoint.isOllama ? request.endpoint.path : request.endpoint.openAIPath
        let head = UpstreamCall.head(path: path, target: target, client: request.head, body: body, requestID: request.requestID)
        return UpstreamCall(target: target, isProvider: false, head: head, body: body, answer: .passthrough, release: nil, peerNonce: nil)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        try prepareNow(request, for: candidate)!
    }
}
