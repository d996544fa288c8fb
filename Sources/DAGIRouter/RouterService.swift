import Logging
import ServiceLifecycle

/// Keeps the router's catalog current while the node runs.
public struct RouterService: Service {
    let router: RequestRouter

    public init(router: RequestRouter) { self.router = router }

    /// Loads the catalog and the agent keys once, so the first request is routed right.
    public func prepare() async throws { try await router.prepare() }

    public func run() async throws {
        // maintain() returns when its task is cancelled, which graceful shutdown does.
        await cancelWhenGracefulShutdown {
            await router.catalog.maintain(logger: router.logger)
        }
    }
}
