import Logging
import ServiceLifecycle
import Swapper

/// Refreshes the node's Ollama models on an interval (see ``OllamaModelSource``).
public struct OllamaWatcher: Service {
    let source: OllamaModelSource
    let interval: Duration
    let logger: Logger

    public init(source: OllamaModelSource, interval: Duration, logger: Logger) {
        self.source = source
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var wasReachable: Bool?
            while !Task.isCancelled {
                let reachable = await source.refresh()
                if reachable != wasReachable {
                    logger.info(reachable ? "Ollama reachable" : "Ollama unreachable", metadata: ["url": "\(source.client.baseURL)"])
                    wasReachable = reachable
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
