import Foundation
import GRDB
import Testing
@testable import MeshStore

/// What the store takes from peers: the gate's sequence, identity and content checks, and what
/// each refusal does to the version vector.
@Suite struct ReplicationGateTests {
    static let now: Int64 = 1_750_000_000_000

    static func node(_ id: String, heartbeatAt: Int64 = now, interval: Int64 = 10_000) -> NodeRecord {
        NodeRecord(
            id: id, hostname: "host-\(id)", apiURL: "http://10.0.0.1:7007", version: "0.1.0", os: "linux", arch: "x86_64",
            cpuCount: 8, memTotal: 16 << 30, diskTotal: 1 << 40, startedAt: now - 60_000, heartbeatAt: heartbeatAt,
            heartbeatIntervalMs: interval, cpuPercent: 12.5, memUsed: 4 << 30, load1: 0.5
        )
    }

    /// A change carrying `record` (its columns edited by `edit`) as `origin`'s change `seq`.
    static func change<R: ReplicatedRecord>(
        _ record: R, origin: String, seq: Int64, hlc: Int64 = now, edit: (inout [DatabaseValue]) -> Void = { _ in }
    ) throws -> Change {
        let schema = R.replicatedTable.schema
        var values = try LocalWriter.values(of: record, schema: schema)
        edit(&values)
        let (payload, _) = ValueCodec.encode(values, keyCount: schema.primaryKeyCount)
        return Change(origin: origin, originSeq: seq, hlc: HLCTimestamp(milliseconds: hlc), table: R.replicatedTable, payload: payload)
    }

    static func set(_ column: String, of table: ReplicatedTable, to value: DatabaseValue) -> (inout [DatabaseValue]) -> Void {
        { values in values[table.schema.columns.firstIndex(of: column)!] = value }
    }

    func store(_ id: String, _ dir: TemporaryDirectory) throws -> MeshStore { try dir.store(id, clock: ManualClock(Self.now)) }

    @Test func ownOriginNearOverflowIsRefusedAndLocalWritesGoOn() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        try await b.write { try $0.put(Self.node("b")) }
        for seq in [Int64.max, Change.maxAdoptedOwnSequence + 1, 0, -1] {
            let result = try await b.apply([try Self.change(Self.node("b"), origin: "b", seq: seq)])
            #expect(result.refused == [.sequence: 1], "\(seq)")
        }
        #expect(try await b.versionVector()["b"] == 1)
        // The next local write gets sequence 2: nothing received moved it near overflow.
        try await b.write { try $0.put(Self.node("b")) }
        #expect(try await b.versionVector()["b"] == 2)
    }

    @Test func aForeignSequenceOutOfRangeEndsItsRunWithoutAdvancing() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        let batch = [
            try Self.change(sampleModel("a", "one"), origin: "a", seq: 1),
            try Self.change(sampleModel("a", "two"), origin: "a", seq: .max),
            try Self.change(sampleModel("a", "three"), origin: "a", seq: 2),
            try Self.change(sampleModel("c", "other"), origin: "c", seq: 1),
            try Self.change(sampleModel("c", "again"), origin: "c", seq: 1),
        ]
        let result = try await b.apply(batch)
        #expect(result.applied == 2)
        #expect(result.refused == [.sequence: 2, .afterRefusal: 1])
        #expect(Set(try await b.models().map(\.name)) == ["one", "other"])
        #expect(try await b.versionVector()["a"] == 1)
        #expect(try await b.versionVector()["c"] == 1)
    }

    @Test func noChangeMayClaimMoreThanTheSenderHolds() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        let batch = [try Self.change(sampleModel("a", "one"), origin: "a", seq: 1), try Self.change(sampleModel("a", "two"), origin: "a", seq: 9)]
        let result = try await b.apply(batch, senderVector: ["a": 5])
        #expect(result.applied == 1)
        #expect(result.refused == [.sequence: 1])
        let unknown = try await b.apply([try Self.change(sampleModel("x", "m"), origin: "x", seq: 1)], senderVector: ["a": 5])
        #expect(unknown.refused == [.sequence: 1])
        #expect(try await b.versionVector()["a"] == 1)
        #expect(try await b.versionVector()["x"] == nil)
    }

    @Test func aFarFutureClockIsRefusedButDoesNotStallTheOrigin() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        try await b.write { try $0.put(AgentRecord(name: "atlas", tier: "pro")) }
        let future = Self.now + 365 * 86_400_000
        let result = try await b.apply([
            try Self.change(AgentRecord(name: "atlas", tier: "evil"), origin: "a", seq: 1, hlc: future),
            try Self.change(AgentRecord(name: "other", tier: "fine"), origin: "a", seq: 2),
        ])
        #expect(result.refused == [.clock: 1])
        #expect(result.applied == 1)
        #expect(try await b.agent(named: "atlas")?.tier == "pro")
        #expect(try await b.agent(named: "other")?.tier == "fine")
        // Skipped, not stalled: the vector is past it. And this node's clock did not jump.
        #expect(try await b.versionVector()["a"] == 2)
        #expect(b.clock.latest.milliseconds < future)
        // Within the skew is fine.
        let near = try await b.apply([try Self.change(AgentRecord(name: "near"), origin: "a", seq: 3, hlc: Self.now + 60_000)])
        #expect(near.applied == 1)
        let tight = try await b.apply(
            [try Self.change(AgentRecord(name: "tight"), origin: "a", seq: 4, hlc: Self.now + 60_000)], limits: ReplicationLimits(clockSkewMs: 1000)
        )
        #expect(tight.refused == [.clock: 1])
    }

    @Test func valuesOutsideTheirRulesAreRefusedAndTheOriginGoesOn() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        let hostile: [Change] = [
            try Self.change(Self.node("a", heartbeatAt: .min), origin: "a", seq: 1),
            try Self.change(Self.node("a"), origin: "a", seq: 2, edit: Self.set("heartbeat_at", of: .node, to: (Self.now + 86_400_000).databaseValue)),
            try Self.change(Self.node("a"), origin: "a", seq: 3, edit: Self.set("heartbeat_interval_ms", of: .node, to: Int64.max.databaseValue)),
            try Self.change(Self.node("a"), origin: "a", seq: 4, edit: Self.set("state", of: .node, to: "exploded".databaseValue)),
            try Self.change(Self.node("a"), origin: "a", seq: 5, edit: Self.set("api_url", of: .node, to: "not a url".databaseValue)),
            try Self.change(Self.node("a"), origin: "a", seq: 6, edit: Self.set("hostname", of: .node, to: "\u{1b}[31mred".databaseValue)),
            try Self.change(Self.node("a"), origin: "a", seq: 7, edit: Self.set("cpu_count", of: .node, to: "eight".databaseValue)),
            try Self.change(MetricSample(nodeID: "a", metric: "cpu", ts: Self.now, value: .nan), origin: "a", seq: 8),
            try Self.change(MetricSample(nodeID: "a", metric: "cpu", ts: -1, value: 1), origin: "a", seq: 9),
            try Self.change(sampleModel("a", "m"), origin: "a", seq: 10, edit: Self.set("state", of: .model, to: "warming".databaseValue)),
            try Self.change(sampleModel("a", "m"), origin: "a", seq: 11, edit: Self.set("pid", of: .model, to: 0.databaseValue)),
            try Self.change(sampleModel("a", "m"), origin: "a", seq: 12, edit: Self.set("source", of: .model, to: "cloud".databaseValue)),
            try Self.change(AgentRecord(name: "atlas"), origin: "a", seq: 13, edit: Self.set("allowed_models", of: .agent, to: "[1,".databaseValue)),
            try Self.change(AgentRecord(name: "atlas", preferNodes: ["no such/node"]), origin: "a", seq: 14),
            try Self.change(AgentRecord(name: "bad name!"), origin: "a", seq: 15),
            try Self.change(AgentPresenceRecord(agent: "atlas", nodeID: "a", lastSeen: Self.now, requests: .max), origin: "a", seq: 16),
            try Self.change(AgentPresenceRecord(agent: "atlas", nodeID: "a", lastSeen: .min, requests: 1), origin: "a", seq: 17),
            try Self.change(
                UsageRecord(
                    nodeID: "a", id: 1, ts: Self.now, requestID: "r", agent: "atlas", model: "m", physicalModel: "m", route: "local",
                    provider: nil, servedBy: "a", promptTokens: -5, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0,
                    reasoningTokens: 0, latencyMs: 1, ttftMs: nil, costUSD: 0, savingUSD: 0, cacheHit: false, status: 200, estimated: false
                ),
                origin: "a", seq: 18
            ),
            try Self.change(
                MetricRollup(nodeID: "a", metric: "cpu", resolution: 7, bucket: Self.now, count: 1, sum: 1, min: 1, max: 1), origin: "a", seq: 19
            ),
        ]
        let result = try await b.apply(hostile)
        #expect(result.refused == [.value: hostile.count], "\(result.refusals)")
        #expect(result.applied == 0)
        #expect(try await b.replicatedRows().isEmpty)
        // Each was a change of a's, refused on its content: a's later changes still arrive.
        #expect(try await b.versionVector()["a"] == Int64(hostile.count))
        let good = try await b.apply([try Self.change(Self.node("a"), origin: "a", seq: Int64(hostile.count) + 1)])
        #expect(good.applied == 1)
        // The state the node and `dagi status` read decodes.
        #expect(try await b.state().nodes.map(\.id) == ["a"])
    }

    /// A peer's published model loads out of range (the ranking's inputs) are refused, and so is
    /// a load published for another node; a sane one is applied.
    @Test func aPeersModelLoadIsCheckedBeforeRoutingReadsIt() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        func load(slots: Int = 1, inflight: Int = 0, queued: Int = 0, serviceMs: Double? = 100, at: Int64 = Self.now, node: String = "a") -> ModelLoadRecord {
            ModelLoadRecord(nodeID: node, source: .swapper, name: "m", slots: slots, inflight: inflight, queued: queued, serviceMs: serviceMs, at: at)
        }
        let hostile: [Change] = [
            try Self.change(load(slots: 0), origin: "a", seq: 1),
            try Self.change(load(slots: 1 << 30), origin: "a", seq: 2),
            try Self.change(load(inflight: -1), origin: "a", seq: 3),
            try Self.change(load(queued: Int.max), origin: "a", seq: 4),
            try Self.change(load(serviceMs: .infinity), origin: "a", seq: 5),
            try Self.change(load(serviceMs: -1), origin: "a", seq: 6),
            try Self.change(load(at: Self.now + 86_400_000), origin: "a", seq: 7),
            try Self.change(load(at: .min), origin: "a", seq: 8),
        ]
        let result = try await b.apply(hostile)
        #expect(result.refused == [.value: hostile.count], "\(result.refusals)")
        let forged = try await b.apply([try Self.change(load(node: "c"), origin: "a", seq: Int64(hostile.count) + 1)])
        #expect(forged.refused == [.ownership: 1])
        let good = try await b.apply([try Self.change(load(slots: 4, inflight: 4, queued: 2), origin: "a", seq: Int64(hostile.count) + 2)])
        #expect(good.applied == 1)
        #expect(try await b.ownModelLoads().isEmpty)
    }

    @Test func aForeignOriginForANodeRowIsRefused() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        let result = try await b.apply([try Self.change(Self.node("c"), origin: "a", seq: 1)])
        #expect(result.refused == [.ownership: 1])
        #expect(try await b.state().nodes.isEmpty)
        #expect(try await b.versionVector()["a"] == nil)
    }

    @Test func snapshotsAreCheckedRowByRow() async throws {
        let dir = TemporaryDirectory()
        let b = try store("b", dir)
        try await b.write { try $0.put(Self.node("b")) }
        func row(_ change: Change) -> SnapshotRow { SnapshotRow(table: change.table, origin: change.origin, hlc: change.hlc, payload: change.payload) }
        let snapshot = Snapshot(
            vector: ["a": 3, "b": 1, "c": .max, "bad name": 1],
            rows: [
                row(try Self.change(Self.node("a"), origin: "a", seq: 0)),
                row(try Self.change(Self.node("a", heartbeatAt: .min), origin: "a", seq: 0)),
                row(try Self.change(Self.node("c"), origin: "a", seq: 0)),
                row(try Self.change(AgentRecord(name: "atlas"), origin: "a", seq: 0, hlc: Self.now + 365 * 86_400_000)),
                // b's own row, while b's data is current: b is the authority on it.
                row(try Self.change(Self.node("b", heartbeatAt: Self.now + 1000), origin: "b", seq: 0, hlc: Self.now + 1000)),
            ]
        )
        let result = try await b.applySnapshot(snapshot)
        #expect(result.applied == 1)
        #expect(result.refused == [.value: 1, .ownership: 1, .clock: 1, .ownOrigin: 1, .sequence: 2])
        #expect(try await b.versionVector() == ["a": 3, "b": 1])
        #expect(try await b.localNode()?.heartbeatAt == Self.now)
    }

    @Test func livenessNeverTraps() {
        for heartbeat in [Int64.min, .max, 0, -1] {
            for interval in [Int64.min, .max, 0, 10_000] {
                let node = Self.node("a", heartbeatAt: heartbeat, interval: interval)
                _ = node.liveness(now: Self.now)
                #expect(node.heartbeatAge(now: Self.now) >= 0)
            }
        }
        #expect(Self.node("a", heartbeatAt: .min).heartbeatAge(now: Self.now) == .max)
        #expect(Self.node("a", heartbeatAt: .min).liveness(now: Self.now) == .offline)
        #expect(Self.node("a").liveness(now: Self.now + 5_000) == .online)
    }

    /// What this node writes, every peer must accept: otherwise replicas diverge quietly.
    @Test func everyRowTheNodeWritesPassesItsRules() {
        let records: [any ReplicatedRecord] = [
            Self.node("a"),
            ModelRecord(
                nodeID: "a", source: .ollama, name: "hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", family: "llama", sizeBytes: 2 << 30,
                quantization: "Q4_K_M", parameterSize: "3.2B", state: .loaded, ramBytes: 3 << 30, vramBytes: 2 << 30, lastUsed: Self.now,
                pid: 4242, port: 5800, stateSince: Self.now, error: "the process exited with status 1\nlast output: ..."
            ),
            AgentRecord(name: "atlas", tier: "pro", allowedModels: ["fast", "smollm2:135m"], allowCloud: true, preferNodes: ["gpu-1"],
                        budgetDailyUSD: 5, budgetMonthlyUSD: 100, rpm: 600),
            AssignmentRecord(agent: "atlas", nodeID: "gpu-1", priority: 2),
            AgentPresenceRecord(agent: "atlas", nodeID: "a", lastSeen: Self.now, requests: 12),
            MetricSample(nodeID: "a", metric: "mem_used_bytes", ts: Self.now, value: 8e9),
            MetricRollup(nodeID: "a", metric: "cpu_percent", resolution: MetricRollup.hour, bucket: Self.now, count: 360, sum: 3600, min: 0, max: 100),
            UsageRecord(
                nodeID: "a", id: 1_750_000_000_000 << 16, ts: Self.now, requestID: "req_0123456789abcdef01234567", agent: "atlas",
                model: "fast", physicalModel: "claude-haiku-4-5", route: "cloud:anthropic", provider: "anthropic", servedBy: "a",
                promptTokens: 100, cachedTokens: 40, cacheWriteTokens: 10, completionTokens: 20, reasoningTokens: 5, latencyMs: 123.4,
                ttftMs: 45.6, costUSD: 0.000_123, savingUSD: -0.000_01, cacheHit: false, status: 200, estimated: false
            ),
            UsageRollupRecord(
                nodeID: "a", hour: Self.now / 3_600_000 * 3_600_000, agent: "atlas", model: "fast", route: "local", requests: 12, errors: 1,
                promptTokens: 1200, cachedTokens: 0, completionTokens: 300, reasoningTokens: 0, costUSD: 0, savingUSD: 0.5, latencyMs: 4321
            ),
        ]
        for record in records { #expect(record.replicationProblem(now: Self.now) == nil, "\(record)") }
    }

    /// A rule that allowed null on a NOT NULL column would make SQLite fail the whole batch.
    @Test func rulesAgreeWithTheSchemaOnNulls() async throws {
        let dir = TemporaryDirectory()
        let store = try dir.store("n1")
        for schema in TableSchema.all {
            let columns = try await store.pool.read { db in try db.columns(in: schema.name) }
            for (name, rule) in zip(schema.columns, schema.rules) {
                let column = try #require(columns.first { $0.name == name })
                #expect(!(column.isNotNull && rule.nullable), "\(schema.name).\(name)")
            }
        }
    }
}
