import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Sync
import Testing

/// Crashes, bootstrap and hostile input against real guardians.
@Suite(.serialized) struct SyncFailureTests {
    /// Writes `count` metric samples of `node` into its store before the guardian starts.
    static func seed(_ guardian: GuardianProcess, samples count: Int) async throws {
        let store = try MeshStore.open(path: guardian.storePath, nodeID: guardian.nodeID)
        let start: Int64 = 1_700_000_000_000
        var written = 0
        while written < count {
            let batch = min(5000, count - written)
            let offset = written
            try await store.write { writer in
                for i in offset..<(offset + batch) {
                    try writer.put(MetricSample(nodeID: guardian.nodeID, metric: "seeded", ts: start + Int64(i), value: Double(i)))
                }
            }
            written += batch
        }
    }

    /// kill -9 while applying a large catch-up: the store stays sound, its version vector
    /// never claims a change it lacks, and after a restart it converges.
    @Test func crashDuringCatchUp() async throws {
        let root = TemporaryDirectory()
        let total = 60_000
        let nodes = try MeshHarness.make(
            root: root, ids: ["a", "b"], links: ["b": ["a"]], sync: "  batch_size: 2000\n  snapshot_threshold: 10000000"
        )
        let (a, b) = (nodes["a"]!, nodes["b"]!)
        try await Self.seed(a, samples: total)
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            let bStore = try b.store()
            try await poll(timeout: .seconds(60), "b to start applying") { (try await bStore.versionVector()["a"] ?? 0) > 0 }
            try await b.kill9()

            #expect(try bStore.integrityCheck() == "ok")
            let held = try await bStore.versionVector()["a"] ?? 0
            #expect(held > 0)
            #expect(held < Int64(total), "killed in the middle of the catch-up")
            // Every change the vector claims is there: a's seeded samples are seq 1...total.
            let seeded = try await bStore.samples(nodeID: "a", metric: "seeded").count
            #expect(Int64(seeded) == min(held, Int64(total)), "vector claims \(held), store holds \(seeded)")

            try await b.start()
            try await MeshHarness.awaitConvergence([a, b], timeout: .seconds(120))
            #expect(try await bStore.samples(nodeID: "a", metric: "seeded").count == total)
            #expect(try bStore.integrityCheck() == "ok")
        }
    }

    /// A new peer far behind bootstraps from a compressed snapshot instead of replaying history.
    @Test func newPeerBootstrapsFromASnapshot() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["a", "b"], links: ["b": ["a"]], sync: "  snapshot_threshold: 1000")
        let (a, b) = (nodes["a"]!, nodes["b"]!)
        try await Self.seed(a, samples: 5000)
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            try await MeshHarness.awaitConvergence([a, b])
            let metrics = try await HTTP.get(b.baseURL + "/metrics").text
            #expect(metrics.contains("dagi_sync_snapshots_applied_total 1"))
            let served = try await HTTP.get(a.baseURL + "/metrics").text
            #expect(served.contains("dagi_sync_snapshots_served_total 1"))
        }
    }

    @Test func refusesHostileInput() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["a"], links: [:], sync: "  max_frame: 1MiB\n  max_inflated: 4MiB")
        let a = nodes["a"]!
        try await withGuardians([a]) {
            try await a.start()
            let store = try a.store()
            let signer = MeshSigner(secret: MeshSecret(MeshHarness.secret), nodeID: "intruder")
            let identity = try await MeshHarness.identity(a)
            func signed(_ path: String, _ body: [UInt8], at time: Int64 = HybridLogicalClock.systemMilliseconds(), signer: MeshSigner = signer) -> [(String, String)] {
                signer.request(method: "POST", target: path, body: body, recipient: identity, now: time).headers
            }
            let pullBody = Array(#"{"vector":{}}"#.utf8)
            let before = try await store.replicatedRows()

            // No signature, a wrong one, an old one, a replayed one.
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: pullBody).status == 401)
            let stranger = MeshSigner(secret: MeshSecret("not-the-mesh-secret"), nodeID: "intruder")
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: pullBody, headers: signed("/sync/pull", pullBody, signer: stranger)).status == 401)
            let old = signed("/sync/pull", pullBody, at: HybridLogicalClock.systemMilliseconds() - 3_600_000)
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: pullBody, headers: old).status == 401)
            let once = signed("/sync/pull", pullBody)
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: pullBody, headers: once).status == 200)
            let replay = try await HTTP.send("POST", a.baseURL + "/sync/pull", body: pullBody, headers: once)
            #expect(replay.status == 401)
            #expect(try replay.json()["error"]?["message"]?.stringValue?.contains("replay") == true)

            // A zip bomb: 64 MiB of zeros in ~64 KiB, declared honestly and dishonestly.
            let bomb = try Zlib.compress([UInt8](repeating: 0, count: 64 << 20), level: 9)
            for declared in [64 << 20, 1 << 20] {
                var frame = BinaryWriter()
                frame.writeRaw(SyncFrame.magic)
                frame.writeRaw([SyncFrame.version, 1, 0, 0])
                frame.writeUInt32(UInt32(declared))
                frame.writeUInt32(UInt32(bomb.count))
                frame.writeRaw(bomb)
                let reply = try await HTTP.send("POST", a.baseURL + "/sync/push", body: frame.bytes, headers: signed("/sync/push", frame.bytes))
                #expect(reply.status == 413, "declared \(declared): \(reply.text)")
            }
            // A frame over max_frame.
            let huge = [UInt8](repeating: 7, count: 2 << 20)
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/push", body: huge, headers: signed("/sync/push", huge)).status == 413)
            // Garbage, and a valid frame whose change payload is garbage.
            let garbage = Array("this is not a frame at all, not even close".utf8)
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/push", body: garbage, headers: signed("/sync/push", garbage)).status == 400)
            // A change that does not decode is refused (and counted), the frame around it taken.
            let bad = SyncFrame(
                vector: ["intruder": 1], changes: [Change(origin: "intruder", originSeq: 1, hlc: HLCTimestamp(milliseconds: 1), table: .agent, payload: [9, 9, 9])]
            )
            let badBytes = try bad.encoded().bytes
            let badReply = try await HTTP.send("POST", a.baseURL + "/sync/push", body: badBytes, headers: signed("/sync/push", badBytes))
            #expect(badReply.status == 200)
            #expect(try badReply.json()["refused"]?.intValue == 1)
            let notJSON = Array("{vector".utf8)
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: notJSON, headers: signed("/sync/pull", notJSON)).status == 400)

            // Nothing of any of it was applied, and the node is fine.
            #expect(try await store.replicatedRows() == before)
            #expect(try await store.versionVector()["intruder"] == nil)
            #expect(try await HTTP.get(a.baseURL + "/health").status == 200)
            let metrics = try await HTTP.get(a.baseURL + "/metrics").text
            #expect(!metrics.contains("dagi_sync_requests_refused_total 0"))
        }
    }
}
