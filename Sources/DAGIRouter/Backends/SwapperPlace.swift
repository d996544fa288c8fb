import MeshCore
import MeshHTTP
import NIOCore

/// This node's Swapper: a lease on the model's running server (taken at once when it is
/// loaded and has room, else after it starts), then its OpenAI API — translated for clients of
/// the other APIs.
struct SwapperPlace: Backend {
    let local: any LocalModelBackend

    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard let lease = local.tryAcquireNow(candidate.model, priority: request.priority) else { return nil }
        return try call(request, candidate, lease)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        let lease: LocalLease
        do {
            lease = try await local.acquire(candidate.model, timeout: timeout, priority: request.priority)
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
        let body: ByteBuffer, answer: AnswerKind
        do {
            (body, answer) = try OpenAICompatible.call(request, for: candidate, renameModel: false)
        } catch {
            lease.release()
            throw error
        }
        let head = UpstreamCall.head(path: request.endpoint.openAIPath, target: target, client: request.head, body: body, requestID: request.requestID)
        return UpstreamCall(target: target, isProvider: false, head: head, body: body, answer: answer, release: lease.release, peerNonce: nil)
    }
}
