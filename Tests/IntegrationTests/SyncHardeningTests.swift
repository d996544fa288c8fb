import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore
import Sync
import Testing

/// Hostile peers against real guardians: forged answers, hostile changes from a peer that holds
/// the secret, hostile headers, replays across nodes and restarts, a huge unauthenticated body.
@Suite(.serialized) struct SyncHardeningTests {
    // MARK: Answers

    /// A fake peer answers `/sync/pull` with a well-formed frame that is unsigned, signed with
    /// another secret, signed over another body, or signed by another node: none is applied.
    @Test func forgedPullAnswersAreNeverApplied() async throws {
        let root = TemporaryDirectory()
        let forged = try await Hostile.changes(as: "fake", in: root) { try $0.put(AgentRecord(name: "forged", tier: "evil")) }
        let frame = try SyncFrame(kind: .changes, vector: ["fake": 1], changes: forged).encoded().bytes
        let mode = Locked(FakePeer.Mode.unsigned)
        let served = Locked([FakePeer.Mode: Int]())
        let fake = try await FakePeer.start(frame: frame, mode: mode, served: served)
        let nodes = try MeshHarness.make(root: root, ids: ["a"], links: [:], peerURLs: ["a": [fake.baseURL]])
        let a = nodes["a"]!
        try await withGuardians([a]) {
            try await a.start()
            for next in FakePeer.Mode.allCases {
                let refusedBefore = try await Self.metric(a, "dagi_sync_answers_refused_total")
                mode.set(next)
                // a pulls one request at a time: a second request in this mode means the first
                // answer has been dealt with.
                try await poll(timeout: .seconds(20), "a to refuse a \(next) answer") {
                    guard (served.value[next] ?? 0) >= 2 else { return false }
                    return try await Self.metric(a, "dagi_sync_answers_refused_total") > refusedBefore
                }
            }
            let store = try a.store()
            #expect(try await store.agent(named: "forged") == nil)
            #expect(try await store.versionVector()["fake"] == nil)
            #expect(try await HTTP.get(a.baseURL + "/health").status == 200)
            #expect(a.logTail(400).contains("refused an answer from a peer"))
            let peer = try await store.peers().first { $0.url == fake.baseURL }
            #expect(peer?.lastError?.contains("answer refused") == true)
        }
        await fake.stop()
    }

    // MARK: Changes

    /// A peer with the secret pushes: its own origin at `Int64.max`, another node's origin at
    /// `Int64.max`, a far-future HLC, `heartbeat_at = Int64.min`, and a node row for another
    /// origin. All refused and counted; both nodes keep serving and syncing, their clocks do not
    /// jump, `dagi status --json` stays right, and the node restarts cleanly.
    @Test func hostileChangesAreRefusedAndEveryNodeKeepsServing() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["a", "b"], links: ["a": ["b"], "b": ["a"]])
        let (a, b) = (nodes["a"]!, nodes["b"]!)
        let now = HybridLogicalClock.systemMilliseconds()
        // Made by scratch stores of those node ids: local writes are not checked, which is what
        // lets a test make the values a hostile peer would send.
        var ownMax = try await Hostile.changes(as: "a", in: root) { try $0.put(Hostile.node("a", heartbeatAt: now)) }
        ownMax[0].originSeq = .max
        var foreignMax = try await Hostile.changes(as: "b", in: root) {
            try $0.put(ModelRecord(nodeID: "b", source: .swapper, name: "hijack"))
        }
        foreignMax[0].originSeq = .max
        var mallory = try await Hostile.changes(as: "mallory", in: root) { w in
            try w.put(AgentRecord(name: "shared", tier: "evil"))
            try w.put(Hostile.node("mallory", heartbeatAt: .min))
        }
        mallory[0].hlc = HLCTimestamp(milliseconds: now + 365 * 86_400_000)
        var notItsRow = try await Hostile.changes(as: "c", in: root) { try $0.put(Hostile.node("c", heartbeatAt: now)) }
        notItsRow[0].origin = "mallory"
        notItsRow[0].originSeq = 3

        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            try await MeshHarness.putAgent(a, "shared", ["tier": "pro"])
            try await MeshHarness.awaitConvergence([a, b])

            let pushes: [([Change], [String: Int64])] = [(ownMax, ["a": 5]), (foreignMax, ["b": 5]), (mallory + notItsRow, ["mallory": 3])]
            for (changes, vector) in pushes {
                let reply = try await Hostile.push(SyncFrame(vector: vector, changes: changes), to: a)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(try reply.json()["applied"]?.intValue == 0)
                #expect(try reply.json()["refused"]?.intValue == Int64(changes.count))
            }
            // Refused on their content (clock, value): skipped and the vector past them. Refused
            // as not really that origin's (sequence, ownership): the vector stays before them.
            let aStore = try a.store()
            let vector = try await aStore.versionVector()
            #expect(vector["mallory"] == 2)
            #expect((vector["a"] ?? 0) < 1000)
            #expect((vector["b"] ?? 0) < 1000)
            for (reason, count) in [("sequence", 2), ("clock", 1), ("value", 1), ("ownership", 1)] {
                #expect(try await Self.metric(a, "dagi_sync_changes_refused_total{reason=\"\(reason)\"}") == Double(count), "\(reason)")
            }
            #expect(a.logTail(400).contains("refused"))

            // Both keep serving and syncing both ways; a's clock did not jump to the future.
            try await MeshHarness.putAgent(b, "from-b", ["tier": "pro"])
            try await MeshHarness.putAgent(a, "from-a", ["tier": "pro"])
            try await MeshHarness.awaitConvergence([a, b])
            let written = try #require(try await aStore.agent(named: "from-a"))
            #expect(written.hlc.milliseconds < HybridLogicalClock.systemMilliseconds() + 60_000)
            for node in [a, b] {
                #expect(node.isRunning)
                try await Self.expectStatus(node, tier: "pro")
            }
            #expect(try await aStore.agent(named: "shared")?.tier == "pro")

            // The old failure was a crash on every start: a restarts and stays up.
            try await a.stop()
            try await a.start()
            try await MeshHarness.putAgent(a, "after-restart", ["tier": "pro"])
            try await MeshHarness.awaitConvergence([a, b])
            try await Self.expectStatus(a, tier: "pro")
        }
    }

    // MARK: Requests

    /// `x-dagi-timestamp: -9223372036854775808` once made `abs(now - sent)` trap.
    @Test func anOverflowingTimestampIsRefusedAndTheNodeStaysUp() async throws {
        let root = TemporaryDirectory()
        let a = try MeshHarness.make(root: root, ids: ["a"], links: [:])["a"]!
        try await withGuardians([a]) {
            try await a.start()
            let identity = try await MeshHarness.identity(a)
            for path in ["/sync/poke", "/sync/pull", "/sync/push"] {
                let headers = [
                    ("x-dagi-node", "intruder"), ("x-dagi-to", identity.description), ("x-dagi-timestamp", "-9223372036854775808"),
                    ("x-dagi-nonce", String(repeating: "ab", count: 16)), ("x-dagi-signature", "v1=" + String(repeating: "0", count: 64)),
                ]
                let reply = try await HTTP.send("POST", a.baseURL + path, body: Array("{}".utf8), headers: headers)
                #expect(reply.status == 401, "\(path): \(reply.text)")
            }
            #expect(a.isRunning)
            #expect(try await HTTP.get(a.baseURL + "/health").status == 200)
        }
    }

    /// A request signed for node a is refused by node b, though its signature is good (a then
    /// takes it).
    @Test func aRequestSignedForOneNodeIsRefusedByAnother() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["a", "b"], links: [:])
        let (a, b) = (nodes["a"]!, nodes["b"]!)
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            let body = Array(#"{"vector":{}}"#.utf8)
            let forA = Hostile.signer.request(
                method: "POST", target: "/sync/pull", body: body, recipient: try await MeshHarness.identity(a), now: HybridLogicalClock.systemMilliseconds()
            )
            let atB = try await HTTP.send("POST", b.baseURL + "/sync/pull", body: body, headers: forA.headers)
            #expect(atB.status == 401)
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: body, headers: forA.headers).status == 200)
        }
    }

    /// Requests captured before a restart are refused after it (`stale_boot`, naming the new
    /// boot), whether they were sent before or not.
    @Test func aCapturedRequestIsRefusedAfterTheNodeRestarts() async throws {
        let root = TemporaryDirectory()
        let a = try MeshHarness.make(root: root, ids: ["a"], links: [:])["a"]!
        try await withGuardians([a]) {
            try await a.start()
            let before = try await MeshHarness.identity(a)
            let body = Array(#"{"vector":{}}"#.utf8)
            func capture() -> [(String, String)] {
                Hostile.signer.request(method: "POST", target: "/sync/pull", body: body, recipient: before, now: HybridLogicalClock.systemMilliseconds()).headers
            }
            let sent = capture(), unsent = capture()
            #expect(try await HTTP.send("POST", a.baseURL + "/sync/pull", body: body, headers: sent).status == 200)
            try await a.stop()
            try await a.start()
            let after = try await MeshHarness.identity(a)
            #expect(after.boot != before.boot)
            for headers in [sent, unsent] {
                let reply = try await HTTP.send("POST", a.baseURL + "/sync/pull", body: body, headers: headers)
                #expect(reply.status == 401)
                #expect(try reply.json()["error"]?["code"] == "stale_boot")
                #expect(reply.headers.first(name: "x-dagi-boot") == after.boot)
            }
        }
    }

    /// Without a mesh secret a node does not sync: 403, and /health names no boot.
    @Test func aNodeWithoutASecretRefusesSync() async throws {
        let root = TemporaryDirectory()
        let a = try GuardianProcess(nodeID: "a", root: root.path)
        try await withGuardians([a]) {
            try await a.start()
            let reply = try await HTTP.send("POST", a.baseURL + "/sync/pull", body: Array(#"{"vector":{}}"#.utf8))
            #expect(reply.status == 403)
            #expect(try reply.json()["error"]?["code"] == "sync_disabled")
            #expect(try await HTTP.get(a.baseURL + "/health").json()["boot"] == nil)
        }
    }

    /// `/sync/push` with bad signature headers and a 50 MB body: 401 from the headers alone,
    /// and the node's memory does not grow by the body.
    @Test func aHugePushWithBadHeadersIsRefusedUnread() async throws {
        let root = TemporaryDirectory()
        let a = try MeshHarness.make(root: root, ids: ["a"], links: [:])["a"]!
        try await withGuardians([a]) {
            try await a.start()
            let identity = try await MeshHarness.identity(a)
            let body = [UInt8](repeating: 0x5a, count: 50 << 20)
            // Warm up the request path, so the baseline includes what any request allocates.
            _ = try await HTTP.send("POST", a.baseURL + "/sync/push", body: Array("x".utf8))
            let before = try Self.memory(a)
            for headers in [
                [(String, String)](),
                [("x-dagi-node", "intruder"), ("x-dagi-to", identity.description), ("x-dagi-timestamp", "1"),
                 ("x-dagi-nonce", String(repeating: "0", count: 32)), ("x-dagi-signature", "v2=" + String(repeating: "0", count: 64))],
                [("x-dagi-node", "intruder"), ("x-dagi-to", "a/earlier-boot"), ("x-dagi-timestamp", String(HybridLogicalClock.systemMilliseconds())),
                 ("x-dagi-nonce", String(repeating: "0", count: 32)), ("x-dagi-signature", "v2=" + String(repeating: "0", count: 64))],
            ] {
                let reply = try await HTTP.send("POST", a.baseURL + "/sync/push", body: body, headers: headers, timeout: .seconds(120))
                #expect(reply.status == 401, "\(reply.text)")
            }
            let after = try Self.memory(a)
            let slack = 8 << 20
            #expect(after.rss - before.rss < slack, "VmRSS grew from \(before.rss) to \(after.rss) bytes")
            #expect(after.peak - before.peak < slack, "VmHWM grew from \(before.peak) to \(after.peak) bytes")
            #expect(try await HTTP.get(a.baseURL + "/health").status == 200)
        }
    }

    // MARK: TLS

    /// Two nodes with certificates from the mesh's CA (`node.tls`, `mesh.ca`, peers as
    /// `https://`) converge over TLS; a third whose certificate comes from another CA is
    /// refused: nothing of it reaches the mesh.
    @Test func syncsOverTLSAndRefusesACertificateFromAnotherCA() async throws {
        let root = TemporaryDirectory()
        let mesh = try await TestCA.make("mesh", in: root.path)
        let rogue = try await TestCA.make("rogue", in: root.path)
        let ids = ["a", "b", "c"]
        let ports = Dictionary(uniqueKeysWithValues: try ids.map { ($0, try FreePort.allocate()) })
        let links = ["a": ["b", "c"], "b": ["a"], "c": ["a"]]
        var guardians: [String: GuardianProcess] = [:]
        for id in ids {
            let cert = try await (id == "c" ? rogue : mesh).issue(id)
            let config = root.path + "/\(id).yaml"
            // c trusts only the system's roots, so it cannot reach the mesh either.
            try """
                metrics:
                  interval: 1h
                node:
                  tls:
                    cert: \(cert.cert)
                    key: \(cert.key)
                mesh:
                  peers: [\(links[id]!.map { "https://127.0.0.1:\(ports[$0]!)" }.joined(separator: ", "))]
                  sync_interval: 500ms
                  request_timeout: 2s
                \(id == "c" ? "" : "  ca: \(mesh.certificate)")
                """.write(toFile: config, atomically: true, encoding: .utf8)
            guardians[id] = try GuardianProcess(
                nodeID: id, root: root.path, port: ports[id], arguments: ["--config", config], environment: ["DAGI_MESH_SECRET": MeshHarness.secret]
            )
        }
        let (a, b, c) = (guardians["a"]!, guardians["b"]!, guardians["c"]!)
        let meshClient = try Self.client(trusting: mesh.certificate), rogueClient = try Self.client(trusting: rogue.certificate)
        defer { for client in [meshClient, rogueClient] { Task { try? await client.shutdown() } } }
        a.tlsClient = meshClient
        b.tlsClient = meshClient
        c.tlsClient = rogueClient

        // Serving the node's port over TLS is the guardian's (main's) part; until this build has
        // it, a node given node.tls answers plain HTTP and this test cannot run.
        do {
            try await a.start(timeout: .seconds(5))
        } catch {
            let plain = try? await HTTP.get("http://127.0.0.1:\(a.port)/health", timeout: .seconds(2))
            a.forceKill()
            if plain?.status == 200 {
                #if compiler(>=6.3)
                try Test.cancel("this node-guardian does not serve node.tls yet (the Guardian wiring of node.tls lands from main)")
                #else
                print("skipped: this node-guardian does not serve node.tls yet (the Guardian wiring of node.tls lands from main)")
                return
                #endif
            }
            throw error
        }
        try await withGuardians([a, b, c]) {
            try await b.start()
            try await c.start()
            let rows = try await MeshHarness.awaitConvergence([a, b])
            #expect(rows.contains { $0.hasPrefix("node|a|") } && rows.contains { $0.hasPrefix("node|b|") })
            let aStore = try a.store()
            // Once c is up, a's attempts fail on c's certificate (before: connection refused).
            try await poll(timeout: .seconds(20), "a to refuse c's certificate") {
                try await aStore.peers().first { $0.url.hasSuffix(":\(c.port)") }?.lastError?.uppercased().contains("CERTIFICATE") == true
            }
            try await poll(timeout: .seconds(20), "a to pull from b over TLS") {
                try await aStore.peers().first { $0.url.hasSuffix(":\(b.port)") }?.lastOK != nil
            }
            let peers = try await aStore.peers()
            #expect(peers.first { $0.url.hasSuffix(":\(c.port)") }?.lastOK == nil)
            // Nothing of c's reached the mesh, and c got nothing from it.
            for store in [aStore, try b.store()] { #expect(try await store.replicatedRows().allSatisfy { !$0.hasPrefix("node|c|") }) }
            #expect(try await c.store().replicatedRows().allSatisfy { !$0.hasPrefix("node|a|") })
        }
    }

    /// A client for nodes whose certificates `ca` signs.
    static func client(trusting ca: String) throws -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = try MeshTLS.client(caFile: ca)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    // MARK: Helpers

    /// A counter or gauge from a node's /metrics (0 when absent).
    static func metric(_ node: GuardianProcess, _ name: String) async throws -> Double {
        let text = try await HTTP.get(node.baseURL + "/metrics", client: node.client).text
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1)) ?? 0
        }
        return 0
    }

    /// `dagi status --json` on the node's store: it runs, and shows exactly the two real nodes,
    /// online, and the shared agent with its real tier.
    static func expectStatus(_ node: GuardianProcess, tier: String) async throws {
        let (code, out, err) = try await Binaries.run("dagi", ["status", "--json", "--data-dir", node.dataDirectory])
        #expect(code == 0, "\(err)")
        let status = try JSONValue.parse(Array(out.utf8))
        let nodes = status["nodes"]?.arrayValue ?? []
        #expect(nodes.compactMap { $0["id"]?.stringValue }.sorted() == ["a", "b"])
        #expect(nodes.allSatisfy { $0["state"] == "online" && ($0["age_ms"]?.intValue ?? -1) >= 0 })
        let shared = (status["agents"]?.arrayValue ?? []).first { $0["name"] == "shared" }
        #expect(shared?["tier"]?.stringValue == tier)
    }

    /// VmRSS and VmHWM of a node's process, in bytes.
    static func memory(_ node: GuardianProcess) throws -> (rss: Int, peak: Int) {
        let text = try String(contentsOfFile: "/proc/\(node.pid)/status", encoding: .utf8)
        func kilobytes(_ field: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return (kilobytes("VmRSS"), kilobytes("VmHWM"))
    }
}

/// A mesh member gone rogue: it holds the secret and sends what it likes.
enum Hostile {
    static let signer = MeshSigner(secret: MeshSecret(MeshHarness.secret), nodeID: "intruder")

    /// Pushes `frame` to a guardian, correctly signed.
    static func push(_ frame: SyncFrame, to guardian: GuardianProcess) async throws -> HTTP.Reply {
        let bytes = try frame.encoded().bytes
        let signed = signer.request(
            method: "POST", target: "/sync/push", body: bytes, recipient: try await MeshHarness.identity(guardian),
            now: HybridLogicalClock.systemMilliseconds()
        )
        return try await HTTP.send("POST", guardian.baseURL + "/sync/push", body: bytes, headers: signed.headers + [("content-type", "application/x-dagi-sync")])
    }

    /// The changes a node `nodeID` would send after `write`, made in a scratch store.
    static func changes(as nodeID: String, in root: TemporaryDirectory, _ write: @escaping @Sendable (inout LocalWriter) throws -> Void) async throws -> [Change] {
        let store = try MeshStore.open(path: root.path + "/scratch-\(nodeID)-\(UUID().uuidString.prefix(8))/mesh.sqlite", nodeID: nodeID)
        try await store.write(write)
        return try await store.changes(since: [:], limit: 1000, byteBudget: 1 << 20).changes
    }

    static func node(_ id: String, heartbeatAt: Int64) -> NodeRecord {
        let now = HybridLogicalClock.systemMilliseconds()
        return NodeRecord(
            id: id, hostname: id, apiURL: "http://127.0.0.1:9", version: "0.1.0", os: "linux", arch: "x86_64", cpuCount: 4,
            memTotal: 8 << 30, diskTotal: 1 << 40, startedAt: now, heartbeatAt: heartbeatAt, heartbeatIntervalMs: 10_000
        )
    }
}

/// A peer that is not one: `/health` names it, `/sync/pull` answers a fixed frame, signed
/// wrongly in one of several ways.
enum FakePeer {
    enum Mode: CaseIterable, Sendable {
        case unsigned, otherSecret, otherBody, otherNode
    }

    static let boot = "0123456789abcdef"

    static func start(frame: [UInt8], mode: Locked<Mode>, served: Locked<[Mode: Int]>) async throws -> MockServer {
        try await MockServer { router in
            router.get("/health") { _, _ in MockOllama.json(["status": "ok", "node": "fake", "boot": .string(boot)]) }
            router.post("/sync/pull") { request, _ in
                var headers: HTTPFields = [.contentType: "application/x-dagi-sync"]
                let nonce = request.headers[HTTPField.Name("x-dagi-nonce")!] ?? ""
                let requester = request.headers[HTTPField.Name("x-dagi-node")!] ?? ""
                let now = HybridLogicalClock.systemMilliseconds()
                func sign(secret: String, node: String, body: [UInt8]) {
                    let signer = MeshSigner(secret: MeshSecret(secret), nodeID: node)
                    for (name, value) in signer.response(status: 200, requestNonce: nonce, requester: requester, boot: boot, body: body, now: now) {
                        headers[HTTPField.Name(name)!] = value
                    }
                }
                let current = mode.value
                served.withLock { $0[current, default: 0] += 1 }
                switch current {
                case .unsigned: break
                case .otherSecret: sign(secret: "not-the-mesh-secret-at-all", node: "fake", body: frame)
                case .otherBody: sign(secret: MeshHarness.secret, node: "fake", body: Array("another frame".utf8))
                case .otherNode: sign(secret: MeshHarness.secret, node: "other", body: frame)
                }
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: frame)))
            }
        }
    }
}
