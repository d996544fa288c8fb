import Foundation
import HTTPTypes
import MeshHTTP

/// How this node's batch runner calls its own router: with a token made at start, held in
/// memory only (never written, logged or sent to another node: the router forwards no client
/// header), the agent the batch belongs to, and the node it would like the request to run on.
public struct BatchCaller: Sendable {
    /// The token the runner sends (256 random bits).
    public let token: String
    /// The token as the router holds it: a digest, compared without an early exit.
    let secret: InternalSecret

    public static let tokenHeader = "x-dagi-batch"
    public static let agentHeader = "x-dagi-batch-agent"
    public static let nodeHeader = "x-dagi-batch-node"

    public init() {
        token = Hashing.randomHex(bytes: 32)
        secret = InternalSecret(token)!
    }
}

extension HTTPField.Name {
    static let dagiBatch = HTTPField.Name(BatchCaller.tokenHeader)!
    static let dagiBatchAgent = HTTPField.Name(BatchCaller.agentHeader)!
    static let dagiBatchNode = HTTPField.Name(BatchCaller.nodeHeader)!
}
