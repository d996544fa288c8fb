import ArgumentParser
import Foundation
import MeshStore

/// Writes a node's store full of realistic metric history: five metrics sampled every 10 s,
/// the shape that dominates a mesh's change log.
struct SeedChanges: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seed-changes", abstract: "Seed a store with metric changes.")

    @Option var dataDir: String
    @Option var nodeId: String
    @Option var changes = 100_000

    func run() async throws {
        let store = try MeshStore.open(path: MeshStore.databasePath(inDataDirectory: dataDir), nodeID: nodeId)
        let metrics = ["cpu_percent", "mem_used_bytes", "disk_used_bytes", "load1", "gpu_util_percent"]
        let start = store.clock.wallMilliseconds() - Int64(changes / metrics.count) * 10_000
        var written = 0
        while written < changes {
            let batch = min(10_000, changes - written)
            let offset = written
            try await store.write { writer in
                for i in offset..<(offset + batch) {
                    let tick = Int64(i / metrics.count)
                    let metric = metrics[i % metrics.count]
                    let value: Double = switch metric {
                    case "cpu_percent", "gpu_util_percent": Double((tick * 7919) % 1000) / 10
                    case "load1": Double((tick * 31) % 400) / 100
                    default: Double(8_000_000_000 + (tick * 4096) % 1_000_000_000)
                    }
                    try writer.put(MetricSample(nodeID: nodeId, metric: metric, ts: start + tick * 10_000, value: value))
                }
            }
            written += batch
        }
        print("seeded \(changes) changes for \(nodeId)")
    }
}
