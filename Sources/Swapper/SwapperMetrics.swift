import MeshCore
import MeshHTTP
import Prometheus

/// The Swapper's Prometheus metrics, per model.
final class SwapperMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func started(_ model: String, seconds: Duration) {
        registry.counter("swapper_starts", help: "Model processes started", labels: [("model", model)]).increment()
        registry.durationHistogram(
            "swapper_start", help: "Time from spawn to healthy", labels: [("model", model)],
            buckets: [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
        ).record(seconds)
        registry.gauge("swapper_loaded", help: "1 when the model's process is loaded", labels: [("model", model)]).set(1.0)
    }

    func startFailed(_ model: String) {
        registry.counter("swapper_start_failures", help: "Model starts that failed", labels: [("model", model)]).increment()
    }

    func stopped(_ model: String, reason: String) {
        registry.counter("swapper_stops", help: "Model processes stopped, by reason", labels: [("model", model), ("reason", reason)]).increment()
        registry.gauge("swapper_loaded", help: "1 when the model's process is loaded", labels: [("model", model)]).set(0.0)
    }

    /// `model` is being stopped to make room for `newcomer`.
    func swapped(_ model: String, for newcomer: String) {
        registry.counter("swapper_swaps", help: "Models stopped to make room for another", labels: [("model", model), ("for", newcomer)]).increment()
    }

    func queueFull(_ model: String) {
        registry.counter("swapper_queue_full", help: "Requests refused because the model's queue was full", labels: [("model", model)]).increment()
    }
}
