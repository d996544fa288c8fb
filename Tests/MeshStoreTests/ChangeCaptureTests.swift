import Testing
@testable import MeshStore

@Suite struct ChangeCaptureTests {
    struct Boom: Error {}

    @Test func everyWriteIsLoggedWithItsStamp() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("n1")
        let (model, agent) = try await store.write { writer in
            (try writer.put(sampleModel("n1", "smollm2")), try writer.put(AgentRecord(name: "atlas", tier: "pro")))
        }
        #expect(model.origin == "n1")
        #expect(agent.origin == "n1")
        let changes = try await store.allChanges()
        #expect(changes.count == 2)
        #expect(changes.map(\.originSeq) == [1, 2])
        #expect(changes.map(\.hlc) == [model.hlc, agent.hlc])
        #expect(changes.map(\.table) == [.model, .agent])
        #expect(try await store.versionVector()["n1"] == 2)
    }

    @Test func aFailedTransactionLeavesNeitherRowsNorLog() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("n1")
        await #expect(throws: Boom.self) {
            try await store.write { writer in
                try writer.put(sampleModel("n1", "smollm2"))
                try writer.put(AgentRecord(name: "atlas"))
                throw Boom()
            }
        }
        let counts = try await store.rowCounts()
        #expect(counts["model"] == 0)
        #expect(counts["agent"] == 0)
        #expect(counts["change_log"] == 0)
        #expect(try await store.versionVector()["n1"] == 0)
    }

    @Test func aNodeCannotWriteAnotherNodesRows() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("n1")
        await #expect(throws: StoreError.self) {
            try await store.write { try $0.put(sampleModel("n2", "smollm2")) }
        }
        await #expect(throws: StoreError.self) {
            try await store.write { try $0.put(MetricSample(nodeID: "n2", metric: "cpu", ts: 1, value: 1)) }
        }
        // Shared tables may be written by anyone.
        try await store.write { try $0.put(AssignmentRecord(agent: "atlas", nodeID: "n2")) }
    }

    @Test func putIfChangedSkipsIdenticalRows() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("n1")
        let model = sampleModel("n1", "smollm2")
        #expect(try await store.write { try $0.putIfChanged(model) })
        #expect(try await store.write { try $0.putIfChanged(model) } == false)
        var changed = model
        changed.state = .loaded
        let loaded = changed
        #expect(try await store.write { try $0.putIfChanged(loaded) })
        #expect(try await store.allChanges().count == 2)
    }

    @Test func refusesAStoreOfAnotherNode() throws {
        let dir = TemporaryDirectory()
        let path = MeshStore.databasePath(inDataDirectory: dir.path)
        _ = try MeshStore.open(path: path, nodeID: "n1")
        #expect(throws: StoreError.self) { try MeshStore.open(path: path, nodeID: "n2") }
    }

    @Test func schemaMatchesTheReplicationDescriptors() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("n1")
        for schema in TableSchema.all {
            let columns = try await store.pool.read { db in try db.columns(in: schema.name).map(\.name) }
            #expect(Set(columns) == Set(schema.columns + ["origin", "hlc"]), "\(schema.name)")
            let key = try await store.pool.read { db in try db.primaryKey(schema.name).columns }
            #expect(key == Array(schema.columns[0..<schema.primaryKeyCount]), "\(schema.name)")
        }
    }
}
