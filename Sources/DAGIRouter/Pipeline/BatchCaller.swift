import Foundation
import HTTPTypes
import MeshHTTP

/// How this node's batch runner calls its own router: with a token made at start, held in
/// memory only (never written, logged or sent to another node: the router forwards no client
/// header), the agent the batch belongs to, and the node it would like the request to run on.
public struct BatchCaller: Sendable {
    /// The token the runner sends; compared as a digest, without an early exit.
    public let token: String
    let secret: InternalSecret

    public static let tokenHeader = "x-dagi-batch"
    public static let agentHeader = "x-dagi-batch-agent"
    public static let nodeHeader = "x-dagi-batch-node"

    public init() {
        var generator = SystemRandomNumberGenerator()
        token = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.hexString
        secret = InternalSecret(token)!
    }
}

extension HTTPField.Name {
    static let dagiBatch = HTTPField.Name(BatchCaller.tokenHeader)!
    static let dagiBatchAgent = HTTPField.Name(BatchCaller.agentHeader)!
    static let dagiBatchNode = HTTPField.Name(BatchCaller.nodeHeader)!
}
