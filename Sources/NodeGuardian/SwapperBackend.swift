import DAGIRouter
import Swapper

/// The router's view of this node's Swapper: leases on its models.
struct SwapperBackend: LocalModelBackend {
    let swapper: Swapper

    func acquire(_ model: String, timeout: Duration) async throws -> LocalLease {
        let lease = try await swapper.acquire(model, timeout: timeout)
        return LocalLease(baseURL: lease.baseURL, release: { await lease.release() })
    }
}
