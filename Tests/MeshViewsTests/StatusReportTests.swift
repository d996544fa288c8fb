import MeshStore
import Testing
@testable import MeshViews

@Suite struct StatusReportTests {
    func node(_ id: String, heartbeat: Int64, interval: Int64 = 10_000, state: NodeRecord.State = .online) -> NodeRecord {
        NodeRecord(
            id: id, hostname: id, apiURL: "http://\(id):7007", version: "0", os: "linux", arch: "x86_64", cpuCount: 4,
            memTotal: 1 << 34, diskTotal: 1 << 40, startedAt: 0, heartbeatAt: heartbeat, heartbeatIntervalMs: interval,
            state: state, cpuPercent: 12, memUsed: 1 << 30
        )
    }

    @Test func classifiesLiveness() {
        let now: Int64 = 1_000_000_000
        let state = MeshState(
            localNodeID: "a",
            nodes: [
                node("a", heartbeat: now - 1_000), node("b", heartbeat: now - 60_000), node("c", heartbeat: now - 3_600_000),
                node("d", heartbeat: now - 1_000, state: .offline),
            ],
            models: [ModelRecord(nodeID: "c", source: .swapper, name: "m", state: .loaded)],
            agents: [AgentRecord(name: "atlas", staleAfterMs: 300_000), AgentRecord(name: "idle", staleAfterMs: 300_000)],
            assignments: [AssignmentRecord(agent: "atlas", nodeID: "b", priority: 1), AssignmentRecord(agent: "atlas", nodeID: "a")],
            presence: [AgentPresenceRecord(agent: "atlas", nodeID: "b", lastSeen: now - 10_000, requests: 3)],
            origins: [OriginStatus(origin: "b", seq: 10, floor: 0, lastArrival: now - 2_000)]
        )
        let report = StatusReport(state, now: now)
        #expect(report.nodes.map(\.state) == [.online, .stale, .offline, .offline])
        #expect(report.nodes[1].lastChangeAgeMs == 2_000)
        #expect(report.models.first?.nodeState == .offline)
        #expect(report.agents.first?.status == .active)
        #expect(report.agents.first?.assigned == ["a", "b"])
        #expect(report.agents.last?.status == .stale)
        let text = StatusRenderer.render(report, color: false)
        #expect(text.contains("Nodes (4)"))
        #expect(text.contains("atlas"))
        #expect(!text.contains("\u{1B}["))
        #expect(StatusRenderer.render(report, color: true).contains("\u{1B}[32m"))
    }
}
