import MeshCore

/// What the router needs from this node's Swapper, without depending on it: leases on its
/// models' running servers. The guardian adapts the Swapper to this.
public protocol LocalModelBackend: Sendable {
    /// Returns the server's base URL once the model is ready (starting it if needed); while a
    /// request waits, those of lower priority wait behind it.
    func acquire(_ model: String, timeout: Duration, priority: RequestPriority) async throws -> LocalLease
    /// A lease only if the model is loaded and can take the request at once (no request of
    /// higher priority waits for it); never waits.
    func tryAcquireNow(_ model: String, priority: RequestPriority) -> LocalLease?
}

/// A lease on a local model server; call `release` exactly once when the relay ends.
public struct LocalLease: Sendable {
    public let baseURL: String
    public let release: @Sendable () -> Void

    public init(baseURL: String, release: @escaping @Sendable () -> Void) {
        self.baseURL = baseURL
        self.release = release
    }
}
