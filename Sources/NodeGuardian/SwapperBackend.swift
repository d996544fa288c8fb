import DAGIRouter
import Swapper

/// The router's view of this node's Swapper: leases on its models.
struct SwapperBackend: LocalModelBackend {
    let swapper: Swapper

    func acquire(_ model: String, timeout: Duration) async throws -> LocalLease {
        let lease = try await swapper.acquire(model, timeout: timeout)
        return LocalLease(baseURL: lease.baseURL, release: { lease.releaseNow() })
    }

    func tryAcquireNow(_ model: String) -> LocalLease? {
        swapper.tryAcquireNow(model).map { lease in LocalLease(baseURL: lease.baseURL, release: { lease.releaseNow() }) }
    }
}
