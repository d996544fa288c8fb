import MeshCore
import Prometheus

/// Shorthands that name every metric `dagi_<name>_<unit>` with help text, the form
/// swift-prometheus asks for.
extension PrometheusCollectorRegistry {
    public func gauge(_ name: String, unit: String = "", help: String, labels: [(String, String)] = []) -> Gauge {
        makeGauge(descriptor: descriptor(name, unit, help), labels: labels)
    }

    public func counter(_ name: String, unit: String = "total", help: String, labels: [(String, String)] = []) -> Counter {
        makeCounter(descriptor: descriptor(name, unit, help), labels: labels)
    }

    public func durationHistogram(
        _ name: String, unit: String = "seconds", help: String, labels: [(String, String)] = [], buckets: [Duration]
    ) -> DurationHistogram {
        makeDurationHistogram(descriptor: descriptor(name, unit, help), labels: labels, buckets: buckets)
    }

    private func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dagi", metricName: name, unitName: unit, helpText: help)
    }
}
