import Foundation
import Testing
@testable import MeshStore

@Suite struct RetentionTests {
    static let metrics = ["cpu_percent", "mem_used", "load1", "disk_used"]

    /// A week of samples every minute, with rollups and retention run every simulated hour
    /// as the guardian would: raw samples stay within a day, rollups within their windows,
    /// the change log within its horizon, and the file stops growing.
    @Test func aWeekOfSamplesStaysBounded() async throws {
        let dir = TemporaryDirectory()
        let start: Int64 = 486_112 * 3_600_000 // on an hour boundary, so every hour bucket is whole
        let wall = ManualClock(start)
        let store = try dir.store("n1", clock: wall)
        let policy = RetentionPolicy(
            rawSamplesMs: 86_400_000, minuteRollupsMs: 2 * 86_400_000, hourRollupsMs: 30 * 86_400_000,
            changeLogMs: 86_400_000
        )
        var sizeAfterDay: [Int64] = []
        for hour in 0..<(7 * 24) {
            let hourStart = start + Int64(hour) * 3_600_000
            try await store.write { w in
                for minute in 0..<60 {
                    let ts = hourStart + Int64(minute) * 60_000
                    for (i, metric) in Self.metrics.enumerated() {
                        try w.put(MetricSample(nodeID: "n1", metric: metric, ts: ts, value: Double(i * minute)))
                    }
                }
            }
            wall.set(hourStart + 3_600_000)
            try await store.rollUpMetrics(now: wall.now)
            try await store.pruneExpired(policy, now: wall.now)
            if hour % 24 == 23 { sizeAfterDay.append(store.fileSize()) }
        }
        let counts = try await store.rowCounts()
        let perDay = 24 * 60 * Self.metrics.count
        #expect(counts["metric_sample"]! <= perDay)
        #expect(counts["metric_sample"]! >= perDay - 60 * Self.metrics.count)
        let hourly = try await store.rollups(nodeID: "n1", resolution: MetricRollup.hour)
        #expect(hourly.count == 7 * 24 * Self.metrics.count)
        #expect(hourly.allSatisfy { $0.count == 60 })
        let minutes = try await store.rollups(nodeID: "n1", resolution: MetricRollup.minute)
        #expect(minutes.count <= 2 * perDay)
        // The log keeps about a horizon's worth of changes (samples and rollups of the last day,
        // give or take the hour between retention passes), however long the node runs.
        let perHour = 60 * Self.metrics.count
        #expect(counts["change_log"]! <= 2 * (perDay + perHour) + 25 * Self.metrics.count)
        // After the windows fill (day 3 on), the file stops growing.
        let settled = sizeAfterDay.dropFirst(2)
        let ceiling = settled.first! + settled.first! / 5
        #expect(settled.allSatisfy { $0 <= ceiling }, "sizes by day: \(sizeAfterDay)")
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func compactionKeepsTheLatestChangePerRowOnceAcked() async throws {
        let dir = TemporaryDirectory()
        let wall = ManualClock()
        let store = try dir.store("n1", clock: wall)
        for state in [ModelRecord.State.loading, .loaded, .available, .loaded] {
            try await store.write { try $0.put(sampleModel("n1", "m", state: state)) }
        }
        try await store.addPeer(url: "http://peer", source: .config)
        try await store.peerSucceeded(url: "http://peer", nodeID: "n2", lag: 0)
        // n2 has not pulled anything yet: nothing superseded may go.
        try await store.pruneExpired(RetentionPolicy(), now: wall.now)
        #expect(try await store.rowCounts()["change_log"] == 4)
        // n2 now holds up to seq 3: the three superseded entries go, the latest stays.
        try await store.recordPeerAck(nodeID: "n2", vector: ["n1": 3])
        try await store.pruneExpired(RetentionPolicy(), now: wall.now)
        let left = try await store.allChanges()
        #expect(left.map(\.originSeq) == [4])
    }

    @Test func expiredHistoryRaisesTheFloor() async throws {
        let dir = TemporaryDirectory()
        let wall = ManualClock()
        let store = try dir.store("n1", clock: wall)
        try await store.write { try $0.put(sampleModel("n1", "m")) }
        wall.advance(2 * 86_400_000)
        try await store.write { try $0.put(sampleModel("n1", "other")) }
        try await store.pruneExpired(RetentionPolicy(), now: wall.now)
        let behind = try await store.changes(since: [:], limit: 10, byteBudget: 1 << 20)
        #expect(behind.snapshotRequired)
        let current = try await store.changes(since: ["n1": 1], limit: 10, byteBudget: 1 << 20)
        #expect(current.snapshotRequired == false)
        #expect(current.changes.map(\.originSeq) == [2])
    }
}
