/// What the router needs from this node's Swapper, without depending on it: a lease on a
/// model's running server. The guardian adapts the Swapper to this.
public protocol LocalModelBackend: Sendable {
    /// Returns the server's base URL once the model is ready (starting it if needed) and the
    /// closure that ends the lease.
    func acquire(_ model: String, timeout: Duration) async throws -> LocalLease
}

/// A lease on a local model server; call `release` exactly once when the relay ends.
public struct LocalLease: Sendable {
    public let baseURL: String
    public let release: @Sendable () async -> Void

    public init(baseURL: String, release: @escaping @Sendable () async -> Void) {
        self.baseURL = baseURL
        self.release = release
    }
}
