import Testing
@testable import MeshStore

/// Agents named by callers are created, never overwritten, never revived, and bounded.
@Suite struct AgentCreationTests {
    @Test func createsOnlyWhatWasNeverThere() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("a")
        #expect(try await store.createAgentIfAbsent(AgentRecord(name: "one", allowCloud: true, rpm: 10), limit: 3) == .created)
        #expect(try await store.agent(named: "one")?.rpm == 10)
        // Another write for the same name leaves the first (its owner's policy) alone.
        #expect(try await store.createAgentIfAbsent(AgentRecord(name: "one", rpm: 99), limit: 3) == .exists)
        #expect(try await store.agent(named: "one")?.rpm == 10)
        var tombstone = try #require(try await store.agent(named: "one"))
        tombstone.deleted = true
        let deleted = tombstone
        try await store.write { try $0.put(deleted) }
        #expect(try await store.createAgentIfAbsent(AgentRecord(name: "one"), limit: 3) == .deleted)
        #expect(try await store.agent(named: "one") == nil)
        // The limit counts live agents (the tombstone is not one).
        for name in ["two", "three", "four"] {
            #expect(try await store.createAgentIfAbsent(AgentRecord(name: name), limit: 3) == .created)
        }
        #expect(try await store.createAgentIfAbsent(AgentRecord(name: "five"), limit: 3) == .limitReached)
        #expect(try await store.agent(named: "five") == nil)
    }
}
