import Foundation
import GRDB
import Testing
@testable import MeshStore

/// The ledger's reading side in the store: totals per group, hourly rollups, `group_by` lists
/// and sums that cannot overflow.
@Suite struct UsageLedgerTests {
    static let hour: Int64 = 3_600_000
    /// The start of an hour, for rows placed by hand.
    static let base: Int64 = 1_750_000_000_000 / hour * hour

    static func row(
        _ id: Int64, ts: Int64, agent: String = "atlas", model: String = "m", prompt: Int64 = 10, completion: Int64 = 5,
        cost: Double = 0.001, status: Int = 200
    ) -> UsageRecord {
        UsageRecord(
            nodeID: "a", id: id, ts: ts, requestID: "req_\(id)", agent: agent, model: model, physicalModel: model, route: "local",
            provider: nil, servedBy: "a", promptTokens: prompt, cachedTokens: 2, cacheWriteTokens: 0, completionTokens: completion,
            reasoningTokens: 0, latencyMs: 100, ttftMs: 10, costUSD: cost, savingUSD: 0, cacheHit: false, status: status, estimated: false
        )
    }

    @Test func totalsGroupAndSum() async throws {
        let root = TemporaryDirectory()
        let store = try root.store("a", clock: ManualClock(Self.base + 1000))
        try await store.write { writer in
            try writer.put(Self.row(1, ts: Self.base, agent: "atlas", prompt: 10, cost: 0.5))
            try writer.put(Self.row(2, ts: Self.base + 1, agent: "atlas", prompt: 20, cost: 0.25, status: 503))
            try writer.put(Self.row(3, ts: Self.base + 2, agent: "borg", prompt: 7, cost: 1))
        }
        let byAgent = try await store.usageTotals(groupBy: [.agent])
        #expect(byAgent.map(\.group) == [["borg"], ["atlas"]], "costliest first")
        let atlas = try #require(byAgent.first { $0.group == ["atlas"] })
        #expect(atlas.requests == 2 && atlas.errors == 1 && atlas.promptTokens == 30 && atlas.cachedTokens == 4 && atlas.completionTokens == 10)
        #expect(abs(atlas.costUSD - 0.75) < 1e-12)
        let all = try #require(try await store.usageTotals().first)
        #expect(all.requests == 3 && all.promptTokens == 37)
        #expect(try await store.usageTotals(UsageFilter(agent: "nobody")).isEmpty)
    }

    /// A row written after its hour was rolled up (a late flush) still reaches the rollup.
    @Test func rollupsTakeRowsThatArriveLate() async throws {
        let root = TemporaryDirectory()
        let store = try root.store("a", clock: ManualClock(Self.base + 1000))
        try await store.write { writer in try writer.put(Self.row(1, ts: Self.base + 5)) }
        _ = try await store.rollUpUsage(now: Self.base + Self.hour + 60_000)
        #expect(try await Self.rollupRequests(store) == [Self.base: 1])
        try await store.write { writer in try writer.put(Self.row(2, ts: Self.base + 10)) }
        _ = try await store.rollUpUsage(now: Self.base + 2 * Self.hour + 60_000)
        #expect(try await Self.rollupRequests(store) == [Self.base: 2])
    }

    static func rollupRequests(_ store: MeshStore) async throws -> [Int64: Int64] {
        try await store.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT hour, requests FROM usage_rollup").map { ($0[0], $0[1]) })
        }
    }

    @Test func groupByListsAreKnownUniqueAndShort() throws {
        #expect(try UsageGrouping.list("agent, model,agent") == [.agent, .model])
        #expect(try UsageGrouping.list("") == [])
        #expect(throws: UsageGrouping.ListError.self) { try UsageGrouping.list("agent,costs") }
        #expect(throws: UsageGrouping.ListError.self) { try UsageGrouping.list("agent,model,provider,node,day") }
        #expect(try UsageGrouping.list(String(repeating: "day,", count: 2000)) == [.day])
    }

    /// SQLite's `sum()` of integers fails the query past Int64; ours stops at 9e18.
    @Test func sumsSaturateInsteadOfFailing() throws {
        let queue = try DatabaseQueue()
        let total = try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (x INTEGER)")
            try db.execute(sql: "INSERT INTO t VALUES (9000000000000000000), (9000000000000000000), (5)")
            return try Int64.fetchOne(db, sql: "SELECT \(MeshStore.sum("x")) FROM t")
        }
        #expect(total == 9_000_000_000_000_000_000)
    }
}

/// Column names, converted once and remembered: each property's column, and back.
@Suite struct ColumnNamingTests {
    @Test func propertiesAndColumnsMapBothWays() {
        let expected = [
            "nodeID": "node_id", "costUSD": "cost_usd", "apiURL": "api_url", "ttftMs": "ttft_ms", "budgetDailyUSD": "budget_daily_usd",
            "cacheWriteTokens": "cache_write_tokens", "heartbeatAt": "heartbeat_at", "requestID": "request_id", "hlc": "hlc", "ts": "ts",
        ]
        for (property, column) in expected {
            #expect(ColumnNaming.column(for: property) == column)
            #expect(ColumnNaming.column(for: property) == column, "the remembered answer")
            #expect(ColumnNaming.property(for: column) == property)
        }
    }
}
