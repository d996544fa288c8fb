import DAGIRouter
import MeshCore
import MeshHTTP
import Swapper

/// The router's view of this node's Swapper: leases on its models.
struct SwapperBackend: LocalModelBackend {
    let swapper: Swapper

    /// Throws the Swapper's refusal as an ``APIError`` (queue full, no room, start failed…), so
    /// a client that has no other candidate learns exactly why.
    func acquire(_ model: String, timeout: Duration, priority: RequestPriority) async throws -> LocalLease {
        do {
            let lease = try await swapper.acquire(model, timeout: timeout, priority: priority)
            return LocalLease(baseURL: lease.baseURL, release: { lease.releaseNow() })
        } catch let error as SwapperError {
            throw error.apiError
        }
    }

    func tryAcquireNow(_ model: String, priority: RequestPriority) -> LocalLease? {
        swapper.tryAcquireNow(model, priority: priority).map { lease in LocalLease(baseURL: lease.baseURL, release: { lease.releaseNow() }) }
    }
}
