import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore

/// Who a request acts for, as admission decided it. Trust lives here, in the request's own
/// state, never in a header a client could also send.
enum Caller: Sendable {
    /// An agent authenticated by its key (or the open-localhost `local` agent).
    case agent(String)
    /// A peer node forwarding an agent's request, its signature verified: the agent it acts
    /// for and the physical model it chose are part of what it signed.
    case hop(from: String, agent: String, model: String, signature: MeshVerifier.PendingRequest)
    /// This node's operator (this machine, or the admin token) on the Swapper's own endpoints.
    case `operator`

    /// The agent the request is for (a hop's, as its sender signed it).
    var agent: String {
        switch self {
        case .agent(let agent): return agent
        case .hop(_, let agent, _, _): return agent
        case .operator: return Self.operatorAgent
        }
    }

    var isHop: Bool { if case .hop = self { return true } else { return false } }

    /// How the operator's requests appear in usage.
    static let operatorAgent = "operator"

    /// A hop's model, fixed by the node that forwarded it.
    var forcedModel: String? { if case .hop(_, _, let model, _) = self { return model } else { return nil } }

    /// The verified signature a hop's answers are signed against.
    var hopSignature: MeshVerifier.PendingRequest? { if case .hop(_, _, _, let signature) = self { return signature } else { return nil } }
}

/// An admitted inference request: everything the attempts and the relay need, read once.
struct InferenceRequest: Sendable {
    let endpoint: Endpoint
    let head: HTTPRequest
    let body: ByteBuffer
    let fields: RequestFields
    let caller: Caller
    let requestID: String
    let started: ContinuousClock.Instant
    /// Whether the answer streams (asked for, or the endpoint's default).
    let stream: Bool
    /// Whether the client keeps the connection after this answer.
    let keepAlive: Bool
    /// The compatibility API the client called (its body is already the OpenAI chat request it
    /// stands for; its answer is written in that API's shape); nil for the native APIs.
    let compat: CompatCall?
    /// OpenAI's `x-ratelimit-*` headers of the agent's limits, for its answer (nil: no limits).
    let rateLimitHeaders: HTTPFields?
    /// Whether the agent has a tokens-per-minute limit: its answer's tokens are counted when it ends.
    var countsTokens = false
    /// What the response cache may do for it (nil: nothing).
    var cache: CacheDirective?
    /// Its agent's priority on a busy model (a hop's too: the agent's policy is replicated).
    var priority = RequestPriority.normal
    /// Its agent's `prompt_cache: auto`: prompts sent to Anthropic get cache breakpoints.
    var promptCache = false
    /// A deferred batch's request (this node's runner sent it): low priority, the mesh only.
    var batch = false
    /// The node the batch runner would like it to run on (its candidates there go first).
    var preferredNode: String?

    /// The model as the client named it.
    var requestedModel: String { fields.model ?? "" }
}
