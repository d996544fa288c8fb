import ArgumentParser
import Foundation
import MeshStore

/// Seeds a node store with a mesh of N nodes × M models (and a few agents), the way it would
/// hold them after syncing: the other nodes' rows arrive through the real apply path.
struct SeedStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seed-status", abstract: "Seed a store for `dagi status`.")

    @Option var dataDir: String
    @Option var nodes = 10
    @Option var models = 20
    @Option var agents = 10

    func run() async throws {
        let path = MeshStore.databasePath(inDataDirectory: dataDir)
        try? FileManager.default.removeItem(atPath: dataDir)
        let local = try MeshStore.open(path: path, nodeID: "node-0")
        let scratch = NSTemporaryDirectory() + "dagi-seed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let now = local.clock.wallMilliseconds()
        for index in 0..<nodes {
            let id = "node-\(index)"
            let store = index == 0 ? local : try MeshStore.open(path: scratch + "/\(id).sqlite", nodeID: id)
            try await store.write { writer in
                try writer.put(NodeRecord(
                    id: id, hostname: id, apiURL: "http://10.0.0.\(index + 1):7007", version: "0.1.0", os: "linux",
                    arch: "x86_64", cpuCount: 16, memTotal: 64 << 30, diskTotal: 2 << 40, startedAt: now - 86_400_000,
                    heartbeatAt: now - Int64(index) * 1000, heartbeatIntervalMs: 10_000, cpuPercent: Double(index * 7 % 100),
                    memUsed: Int64(index + 1) << 30, diskUsed: 1 << 40, load1: 1.5, gpuCount: index % 2,
                    vramTotal: index % 2 == 1 ? 24 << 30 : nil, vramUsed: index % 2 == 1 ? 6 << 30 : nil
                ))
                for m in 0..<models {
                    try writer.put(ModelRecord(
                        nodeID: id, source: m % 3 == 0 ? .swapper : .ollama, name: "model-\(m):\(m % 4 + 1)b",
                        family: "llama", sizeBytes: Int64(m + 1) * 400_000_000, quantization: "Q4_K_M",
                        state: m % 5 == 0 ? .loaded : .available, lastUsed: now - Int64(m) * 60_000
                    ))
                }
                if index == 0 {
                    for a in 0..<agents {
                        try writer.put(AgentRecord(name: "agent-\(a)", tier: "pro", allowCloud: a % 2 == 0))
                        try writer.put(AssignmentRecord(agent: "agent-\(a)", nodeID: "node-\(a % nodes)"))
                        try writer.put(AgentPresenceRecord(agent: "agent-\(a)", nodeID: id, lastSeen: now - Int64(a) * 60_000, requests: 10))
                    }
                }
            }
            if index > 0 {
                var vector: [String: Int64] = [:]
                while true {
                    let batch = try await store.changes(since: vector, limit: 10_000, byteBudget: 8 << 20)
                    try await local.apply(batch.changes)
                    for change in batch.changes { vector[change.origin] = change.originSeq }
                    if !batch.hasMore { break }
                }
            }
        }
        let counts = try await local.rowCounts()
        print("seeded \(path): \(counts["node"] ?? 0) nodes, \(counts["model"] ?? 0) models, \(counts["agent"] ?? 0) agents")
    }
}
