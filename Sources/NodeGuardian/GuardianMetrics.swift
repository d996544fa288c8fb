import MeshStore
import MeshCore
import MeshHTTP
import Prometheus

/// The guardian's own Prometheus metrics: the machine's resources and the store's size.
/// Other modules register theirs on the same registry, which `GET /metrics` renders.
public final class GuardianMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let cpu: Gauge
    let memUsed: Gauge
    let memTotal: Gauge
    let diskUsed: Gauge
    let load1: Gauge
    let vramUsed: Gauge
    let storeBytes: Gauge
    let changeLogEntries: Gauge
    let metricSamples: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        cpu = registry.gauge("node_cpu_percent", help: "CPU busy share of this node, 0-100")
        memUsed = registry.gauge("node_memory_used_bytes", help: "Memory in use on this node")
        memTotal = registry.gauge("node_memory_total_bytes", help: "Memory of this node")
        diskUsed = registry.gauge("node_disk_used_bytes", help: "Used space on the data directory's file system")
        load1 = registry.gauge("node_load1", help: "One-minute load average")
        vramUsed = registry.gauge("node_vram_used_bytes", help: "GPU memory in use (nvidia-smi)")
        storeBytes = registry.gauge("store_bytes", help: "Size of the node store and its WAL")
        changeLogEntries = registry.gauge("store_change_log_entries", help: "Entries in the change log")
        metricSamples = registry.gauge("store_metric_samples", help: "Raw metric samples held (all nodes)")
    }

    func update(_ snapshot: SystemSnapshot) {
        if let percent = snapshot.cpuPercent { cpu.set(percent) }
        memUsed.set(Double(snapshot.memUsed))
        memTotal.set(Double(snapshot.memTotal))
        diskUsed.set(Double(snapshot.diskUsed))
        if let load = snapshot.load1 { load1.set(load) }
        if let gpu = snapshot.gpu { vramUsed.set(Double(gpu.vramUsed)) }
    }

    func updateStore(_ store: MeshStore) async {
        storeBytes.set(Double(store.fileSize()))
        if let counts = try? await store.rowCounts() {
            changeLogEntries.set(Double(counts["change_log"] ?? 0))
            metricSamples.set(Double(counts["metric_sample"] ?? 0))
        }
    }
}
