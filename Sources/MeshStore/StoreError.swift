/// Errors of the store, each with a stable code and a message fit for an operator.
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// A local write for a row this node does not own.
        case notOwner = "not_owner"
        /// The data directory belongs to another node id.
        case nodeMismatch = "node_mismatch"
        /// No store exists at the path (the guardian never ran there).
        case missing = "store_missing"
        /// Replication input that cannot be applied.
        case invalidChange = "invalid_change"
        /// This node's change sequence reached the mesh's limit (a store damaged by an old bug).
        case sequenceExhausted = "sequence_exhausted"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
