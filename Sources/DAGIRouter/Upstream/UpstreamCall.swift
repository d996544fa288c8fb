import HTTPTypes
import MeshHTTP
import NIOCore
import NIOHTTP1

/// One prepared attempt: where to connect, the request to send, and how to read the answer.
struct UpstreamCall: Sendable {
    let target: UpstreamTarget
    /// Verified against the system's roots (a cloud provider) rather than the mesh's CA.
    let isProvider: Bool
    let head: HTTPRequestHead
    let body: ByteBuffer
    let answer: AnswerKind
    /// Ends the lease on a local model server; called exactly once, when the attempt ends.
    let release: (@Sendable () -> Void)?
    /// For a peer: the nonce its signed answer must name.
    let peerNonce: String?

    /// The request head every upstream gets: the target's host, the body's type and length,
    /// the client's accept and user agent, the request id, and the backend's own headers. The
    /// client's credentials and hop-by-hop headers stay here; no compression is asked for, so
    /// adapters read plain bytes.
    static func head(
        method: HTTPMethod = .POST, path: String, target: UpstreamTarget, client: HTTPRequest, body: ByteBuffer, requestID: String,
        extra: [(String, String)] = []
    ) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(8 + extra.count)
        headers.add(name: "host", value: target.hostHeader)
        headers.add(name: "content-type", value: client.headerFields[.contentType] ?? "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        if let accept = client.headerFields[.accept] { headers.add(name: "accept", value: accept) }
        if let agent = client.headerFields[.userAgent] { headers.add(name: "user-agent", value: agent) }
        headers.add(name: "x-request-id", value: requestID)
        for (name, value) in extra { headers.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: method, uri: target.pathPrefix + path, headers: headers)
    }
}

/// Why an attempt failed before its answer began (the next candidate is tried). `answer` is the
/// place's own explanation (the Swapper's queue is full, there is no room…), what a client with
/// no other candidate is told.
struct AttemptFailure: Error, CustomStringConvertible {
    let reason: String
    var answer: APIError?
    init(_ reason: String, answer: APIError? = nil) {
        self.reason = reason
        self.answer = answer
    }
    var description: String { reason }
}

/// How a request reaches one kind of place — this node's Swapper, its Ollama, a peer, a cloud
/// provider: where to connect, what to send, and how to read the answer.
protocol Backend: Sendable {
    /// The call, if it can be made at once; nil when it must wait (``prepare(_:for:timeout:)``).
    func prepareNow(_ request: InferenceRequest, for candidate: Candidate) throws -> UpstreamCall?
    /// The call, after whatever it waits for: a model starting, a peer's identity.
    func prepare(_ request: InferenceRequest, for candidate: Candidate, timeout: Duration) async throws -> UpstreamCall
}
