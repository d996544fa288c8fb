import Testing
@testable import MeshStore

@Suite struct ApplyTests {
    @Test func replicatesRowsExactly() async throws {
        let dir = TemporaryDirectory()
        let a = try dir.store("a"), b = try dir.store("b")
        try await a.write { w in
            try w.put(sampleModel("a", "smollm2", state: .loaded))
            try w.put(AgentRecord(name: "atlas", tier: "pro", allowedModels: ["fast"], allowCloud: true))
            try w.put(MetricSample(nodeID: "a", metric: "cpu_percent", ts: 1000, value: 12.5))
        }
        let result = try await b.apply(try await a.allChanges())
        #expect(result.applied == 3)
        #expect(try await b.replicatedRows() == (try await a.replicatedRows()))
        #expect(try await b.versionVector()["a"] == 3)
    }

    @Test func applyingTwiceIsANoOp() async throws {
        let dir = TemporaryDirectory()
        let a = try dir.store("a"), b = try dir.store("b")
        try await a.write { try $0.put(sampleModel("a", "m")) }
        let changes = try await a.allChanges()
        _ = try await b.apply(changes)
        let again = try await b.apply(changes)
        #expect(again.applied == 0)
        #expect(again.duplicates == 1)
        #expect(try await b.rowCounts()["change_log"] == 1)
    }

    @Test func lastWriterWinsByClockThenOrigin() async throws {
        let dir = TemporaryDirectory()
        let wallA = ManualClock(1_000_000), wallB = ManualClock(1_000_000)
        let a = try dir.store("a", clock: wallA), b = try dir.store("b", clock: wallB)
        try await a.write { try $0.put(AgentRecord(name: "atlas", tier: "from-a")) }
        wallB.advance(5)
        try await b.write { try $0.put(AgentRecord(name: "atlas", tier: "from-b")) }
        // Exchange both ways, in either order: both end with b's later write.
        _ = try await a.apply(try await b.allChanges())
        _ = try await b.apply(try await a.allChanges())
        #expect(try await a.agent(named: "atlas")?.tier == "from-b")
        #expect(try await b.agent(named: "atlas")?.tier == "from-b")
        #expect(try await a.replicatedRows() == (try await b.replicatedRows()))
        // a's clock moved past b's stamp: a's next write wins.
        try await a.write { try $0.put(AgentRecord(name: "atlas", tier: "a-again")) }
        _ = try await b.apply(try await a.allChanges())
        #expect(try await b.agent(named: "atlas")?.tier == "a-again")
    }

    @Test func ownershipIsEnforcedOnApply() async throws {
        let dir = TemporaryDirectory()
        let b = try dir.store("b")
        // A forged change: origin "evil" writing node "b"'s model row.
        let (payload, _) = ValueCodec.encode(
            try LocalWriter.values(of: sampleModel("b", "hijack"), schema: ReplicatedTable.model.schema), keyCount: 3
        )
        let forged = Change(origin: "evil", originSeq: 1, hlc: HLCTimestamp(milliseconds: 1_000), table: .model, payload: payload)
        let result = try await b.apply([forged])
        #expect(result.refused == [.ownership: 1])
        #expect(try await b.models().isEmpty)
        // The vector does not count it as evil's change 1: a forged change must not stand in for
        // (and hide) the real one with that number.
        #expect(try await b.versionVector()["evil"] == nil)
    }

    @Test func aMalformedChangeEndsItsOriginsRunOnly() async throws {
        let dir = TemporaryDirectory()
        let a = try dir.store("a"), b = try dir.store("b"), c = try dir.store("c")
        try await a.write { w in
            try w.put(sampleModel("a", "one"))
            try w.put(sampleModel("a", "two"))
            try w.put(sampleModel("a", "three"))
        }
        try await c.write { try $0.put(sampleModel("c", "other")) }
        var changes = try await a.allChanges()
        changes[1].payload.removeLast(3)
        let result = try await b.apply(changes + (try await c.allChanges()))
        #expect(result.applied == 2)
        #expect(result.refused == [.malformed: 1, .afterRefusal: 1])
        #expect(Set(try await b.models().map(\.name)) == ["one", "other"])
        #expect(try await b.versionVector()["a"] == 1)
        #expect(try await b.versionVector()["c"] == 1)
    }

    @Test func relayedChangesKeepTheirOrigin() async throws {
        let dir = TemporaryDirectory()
        let a = try dir.store("a"), b = try dir.store("b"), c = try dir.store("c")
        try await a.write { try $0.put(sampleModel("a", "m")) }
        _ = try await b.apply(try await a.allChanges())
        _ = try await c.apply(try await b.allChanges())
        #expect(try await c.models().first?.origin == "a")
        #expect(try await c.versionVector()["a"] == 1)
        #expect(try await c.replicatedRows() == (try await a.replicatedRows()))
    }

    @Test func snapshotBootstrapsAndRaisesTheFloor() async throws {
        let dir = TemporaryDirectory()
        let a = try dir.store("a"), b = try dir.store("b")
        try await a.write { w in
            for i in 0..<20 { try w.put(MetricSample(nodeID: "a", metric: "cpu", ts: Int64(i), value: Double(i))) }
            try w.put(AgentRecord(name: "atlas"))
        }
        _ = try await b.applySnapshot(try await a.snapshot())
        #expect(try await b.replicatedRows() == (try await a.replicatedRows()))
        #expect(try await b.versionVector()["a"] == 21)
        // b's log lacks a's history, so a peer behind it must bootstrap too.
        let batch = try await b.changes(since: ["a": 3], limit: 100, byteBudget: 1 << 20)
        #expect(batch.snapshotRequired)
        let upToDate = try await b.changes(since: ["a": 21], limit: 100, byteBudget: 1 << 20)
        #expect(upToDate.snapshotRequired == false)
    }

    @Test func aResetNodeReannouncesItsRows() async throws {
        let dir = TemporaryDirectory()
        let a = try dir.store("a"), b = try dir.store("b")
        try await a.write { w in for i in 0..<5 { try w.put(sampleModel("a", "m\(i)")) } }
        _ = try await b.apply(try await a.allChanges())
        // a loses its disk and starts over with the same id.
        let fresh = TemporaryDirectory()
        let reborn = try fresh.store("a")
        try await reborn.write { try $0.put(sampleModel("a", "new")) }
        _ = try await reborn.apply(try await b.allChanges())
        // Its next writes must get sequence numbers b has not seen.
        try await reborn.write { try $0.put(sampleModel("a", "after")) }
        let vector = try await b.versionVector()
        let batch = try await reborn.changes(since: vector, limit: 100, byteBudget: 1 << 20)
        _ = try await b.apply(batch.changes)
        let names = Set(try await b.models(nodeID: "a").map(\.name))
        #expect(names.contains("after"))
        #expect(names.contains("new"))
    }
}
