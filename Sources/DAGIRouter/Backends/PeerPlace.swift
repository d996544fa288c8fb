import MeshCore
import MeshHTTP
import NIOCore

/// Another node, through its router: the request goes as the client sent it, signed for that
/// node and its current run, naming the agent and the physical model (both signed). The peer
/// serves it locally, never forwards it again, and signs its answer.
struct PeerPlace: Backend {
    let signer: MeshSigner?
    let directory: PeerDirectory
    let clock: @Sendable () -> Int64

    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall? {
        guard signer != nil else { throw AttemptFailure("no mesh secret to sign a forwarded request") }
        guard let identity = directory.cached(candidate.baseURL) else { return nil }
        return try call(request, candidate, identity)
    }

    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall {
        guard signer != nil else { throw AttemptFailure("no mesh secret to sign a forwarded request") }
        let identity: PeerIdentity
        do {
            identity = try await directory.identity(of: candidate.baseURL, timeout: min(timeout, .seconds(5)))
        } catch {
            throw AttemptFailure("\(candidate.node) is unreachable: \(error)")
        }
        return try call(request, candidate, identity)
    }

    private func call(_ request: InferenceRequest, _ candidate: Candidate, _ identity: PeerIdentity) throws -> UpstreamCall {
        guard let signer, let target = UpstreamTarget(baseURL: candidate.baseURL) else {
            throw AttemptFailure("\(candidate.node)'s address \(candidate.baseURL) is not an http(s) URL")
        }
        guard identity.nodeID == candidate.node else {
            directory.forget(candidate.baseURL)
            throw AttemptFailure("\(candidate.baseURL) answers as \(identity.nodeID), not \(candidate.node)")
        }
        let path = request.endpoint.path
        let agent = request.caller.agent
        // A batch's request waits behind other work there too: its priority is signed with it.
        let priority = request.batch ? [HopHeader.lowPriority] : []
        let signed = signer.request(
            method: "POST", target: target.pathPrefix + path, body: request.body.readableBytesView, recipient: identity,
            hopHeaders: [agent, candidate.model] + priority, now: clock()
        )
        var extra = [(HopHeader.hop, "1"), (HopHeader.agent, agent), (HopHeader.model, candidate.model)] + signed.headers
        if !priority.isEmpty { extra.append((HopHeader.priority, HopHeader.lowPriority)) }
        let head = UpstreamCall.head(path: path, target: target, client: request.head, body: request.body, requestID: request.requestID, extra: extra)
        // A compatibility request travels as the OpenAI chat request it stands for; its answer
        // is written in its own API's shape here.
        let answer: AnswerKind = request.compat == nil ? .passthrough
            : .translated(upstream: .openAI, client: ClientKind(request, serving: candidate), stream: request.stream)
        return UpstreamCall(target: target, isProvider: false, head: head, body: request.body, answer: answer, release: nil, peerNonce: signed.nonce)
    }
}

/// The headers of a forwarded request. They are trusted only as part of a verified signature.
enum HopHeader {
    static let hop = "x-dagi-hop"
    static let agent = "x-dagi-agent"
    static let model = "x-dagi-model"
    /// Sent (and signed, after the agent and the model) only for a batch's request: `low`.
    static let priority = "x-dagi-priority"
    static let lowPriority = "low"
}
