import Foundation
import MeshCore
import NIOHTTP1
import Testing

/// Two nodes pooled: `smol` loaded on both, each on a one-slot llama-server. Requests to A go
/// where they are expected to be answered first: here while A is free, to B when A is busy and
/// B is not, and here again when B is busier.
@Suite(.serialized) struct PoolingTests {
    static let auth = [("authorization", "Bearer \(RouterTests.key)")]

    static func node(_ root: TemporaryDirectory, id: String, peer: Int, port: Int) throws -> GuardianProcess {
        let swapper = try RealModels.smolSwapper("smol", flags: "-c 1024 --parallel 1")
        let mesh = "mesh:\n  peers: [http://127.0.0.1:\(peer)]\n  sync_interval: 500ms\n  request_timeout: 2s"
        return try RouterTests.node(root, id: id, swapper: swapper, router: "  first_byte_timeout: 60s", mesh: mesh, port: port)
    }

    /// A generation of exactly `tokens` tokens (never cached, never cut short by the model).
    static func generate(_ node: GuardianProcess, _ model: String, tokens: Int = 40) async throws -> HTTP.Reply {
        let reply = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: [
            "model": .string(model), "max_tokens": .int(Int64(tokens)), "ignore_eos": true, "temperature": 0.8,
            "messages": [["role": "user", "content": "Count from one to a hundred."]],
        ], headers: auth + [("x-dagi-cache", "off")], timeout: .seconds(180))
        #expect(reply.status == 200, "\(reply.text)")
        return reply
    }

    /// `count` requests at once; their routes and the time until the last one ended.
    static func burst(_ node: GuardianProcess, _ model: String, count: Int) async throws -> (routes: [String], seconds: Double) {
        let started = ContinuousClock.now
        let routes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<count { group.addTask { try await generate(node, model).headers.first(name: "x-dagi-route") ?? "" } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        return (routes, (ContinuousClock.now - started).inSeconds)
    }

    static func counter(_ node: GuardianProcess, _ line: String) async throws -> Int {
        let metrics = try await HTTP.get(node.baseURL + "/metrics").text
        guard let found = metrics.split(separator: "\n").first(where: { $0.hasPrefix(line + " ") }) else { return 0 }
        return Int(Double(found.split(separator: " ").last ?? "") ?? 0)
    }

    /// B's load as A sees it (what B published, and what A sent it since).
    static func peerWait(_ a: GuardianProcess, of peer: String) async throws -> JSONValue? {
        let routes = try await HTTP.get(a.baseURL + "/v1/routes/smol", headers: auth).json()
        return routes["candidates"]?.arrayValue?.first { $0["candidate"]?["node"]?.stringValue == peer }?["expected_wait"]
    }

    @Test func busyNodesSpillToIdlePeersAndOnlyThen() async throws {
        let root = TemporaryDirectory()
        let portA = try FreePort.allocate(), portB = try FreePort.allocate()
        let a = try Self.node(root, id: "a", peer: portB, port: portA)
        let b = try Self.node(root, id: "b", peer: portA, port: portB)
        try await withGuardians([a, b]) {
            try await b.start()
            try await a.start()
            try await poll(timeout: .seconds(30), "a to learn b's smol") { try await Self.peerWait(a, of: "b") != nil }
            // Both loaded, and their service times measured.
            _ = try await Self.generate(b, "smol")
            _ = try await Self.generate(a, "a/smol")
            try await poll(timeout: .seconds(30), "a to see b's smol loaded") {
                try await Self.peerWait(a, of: "b")?["load_s"]?.doubleValue == 0
            }

            // One request at a time stays here.
            for _ in 0..<3 { #expect(try await Self.generate(a, "smol").headers.first(name: "x-dagi-route") == "local") }

            // A alone (pinned), then pooled, four at once each. The two cores are shared with the
            // rest of the suite, so a pair measured while something else ran is measured again
            // (at most four pairs; one must show the gain).
            var rounds: [(alone: Double, pooled: Double)] = []
            for _ in 0..<4 {
                let alone = try await Self.burst(a, "a/smol", count: 4)
                #expect(alone.routes == Array(repeating: "local", count: 4))
                let publishedBefore = try await Self.counter(a, "dagi_router_load_publications_total")
                let pooled = try await Self.burst(a, "smol", count: 4)
                let publishedDuring = try await Self.counter(a, "dagi_router_load_publications_total") - publishedBefore
                rounds.append((alone.seconds, pooled.seconds))
                print("pooling: A alone \(alone.seconds) s, pooled \(pooled.seconds) s (\(pooled.seconds / alone.seconds)×), routes \(pooled.routes), \(publishedDuring) load writes")
                #expect(pooled.routes.contains("remote:b") && pooled.routes.contains("local"), "\(pooled.routes)")
                // Coalesced: at most two writes a second, plus the last (idle) one.
                #expect(publishedDuring <= Int(pooled.seconds * 2) + 2, "\(publishedDuring) writes in \(pooled.seconds) s")
                if pooled.seconds <= 0.7 * alone.seconds { break }
            }
            #expect(rounds.contains { $0.pooled <= 0.7 * $0.alone }, "pooled vs alone: \(rounds)")
            #expect(try await Self.counter(a, "dagi_router_spills_total{peer=\"b\"}") >= 1)

            // At idle, nothing is written: once B has A's last (all idle) load, A's count stays
            // put over two seconds.
            try await poll(timeout: .seconds(10), "b to hear that a is idle") {
                try await Self.peerWait(b, of: "a")?["outstanding"]?.intValue == 0
            }
            let idle = try await Self.counter(a, "dagi_router_load_publications_total")
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.counter(a, "dagi_router_load_publications_total") == idle)

            // B busy with two long generations of its own (pinned there, one running, one
            // waiting): A keeps two requests here, one running and one waiting, once it has heard
            // of B's load.
            let long = Task { try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 { group.addTask { _ = try await Self.generate(b, "b/smol", tokens: 800) } }
                try await group.waitForAll()
            } }
            defer { long.cancel() }
            try await poll(timeout: .seconds(30), "a to hear that b is busy") {
                (try await Self.peerWait(a, of: "b")?["outstanding"]?.intValue ?? 0) >= 2
            }
            let kept = try await Self.burst(a, "smol", count: 2)
            #expect(kept.routes == ["local", "local"], "\(kept.routes)")

            // `dagi route --explain` shows each candidate's expected wait and its parts.
            let (status, out, err) = try await Binaries.run("dagi", ["route", "smol", "--explain", "--data-dir", a.dataDirectory])
            #expect(status == 0, "\(err)")
            #expect(out.contains("expected wait") && out.contains("ahead ×") && out.contains("(peer)"), "\(out)")
        }
    }

    /// A llama-server whose command names no `-np` (three slots through its environment) says
    /// how many slots it has: the router ranks by what it said.
    @Test func slotsComeFromTheServerWhenTheConfigDoesNotSay() async throws {
        let root = TemporaryDirectory()
        let swapper = try RealModels.smolSwapper("auto", flags: "-c 1536", extra: "      env: { LLAMA_ARG_N_PARALLEL: \"3\" }")
        let node = try RouterTests.node(root, id: "solo", swapper: swapper)
        try await withGuardians([node]) {
            try await node.start()
            _ = try await Self.generate(node, "auto")
            let port = try #require(try await node.store().models(nodeID: "solo").first { $0.name == "auto" }?.port)
            let props = try await HTTP.get("http://127.0.0.1:\(port)/props").json()
            let reported = try #require(props["total_slots"]?.intValue)
            #expect(reported == 3)
            let routes = try await HTTP.get(node.baseURL + "/v1/routes/auto", headers: Self.auth).json()
            #expect(routes["candidates"]?.arrayValue?.first?["expected_wait"]?["slots"]?.intValue == reported, "\(routes)")
        }
    }
}
