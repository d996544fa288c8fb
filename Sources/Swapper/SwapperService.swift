import Logging
import ServiceLifecycle

/// Runs the Swapper's housekeeping (TTL unloads, memory measurement, last-use records) every
/// second, and stops every model process when the guardian shuts down.
public struct SwapperService: Service {
    let swapper: Swapper

    public init(swapper: Swapper) { self.swapper = swapper }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                await swapper.tick()
            }
        }
        await swapper.shutdown()
    }
}
