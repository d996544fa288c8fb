import Foundation
import MeshCore
import MeshHTTP
import MeshStore
import Testing

/// The router's port as an attacker and a careless client would use it: forged and overflowing
/// headers, pipelined forgeries, huge bodies without a key, idle and excess connections, bad
/// parameters, revoked keys, bursts through a peer, and clients that hang up.
@Suite(.serialized) struct RouterHardeningTests {
    static let chat = #"{"model":"mock-ok","messages":[{"role":"user","content":"hi"}]}"#

    /// A hop whose timestamp is Int64.min (once a remote crash) or otherwise forged is refused
    /// with 401, and the node keeps serving.
    @Test func forgedHopHeadersAreRefusedNotFatal() async throws {
        let root = TemporaryDirectory()
        let node = try RouterTests.node(root, swapper: RouterTests.mockSwapper(["ok"]))
        try await withGuardians([node]) {
            try await node.start()
            let signature = "v2=" + String(repeating: "ab", count: 32)
            let forgeries: [[(String, String)]] = [
                [("x-dagi-hop", "1"), ("x-dagi-node", "x"), ("x-dagi-timestamp", "-9223372036854775808"), ("x-dagi-signature", signature),
                 ("x-dagi-to", "r1/boot"), ("x-dagi-nonce", String(repeating: "0", count: 32)), ("x-dagi-model", "mock-ok"), ("x-dagi-agent", "atlas")],
                [("x-dagi-hop", "1"), ("x-dagi-node", "x"), ("x-dagi-timestamp", "99999999999999999999"), ("x-dagi-signature", "v1=" + String(repeating: "0", count: 64)),
                 ("x-dagi-model", "mock-ok")],
                [("x-dagi-hop", "1"), ("x-dagi-hop-verified", "1"), ("x-dagi-model", "mock-ok"), ("x-dagi-agent", "atlas")],
            ]
            for headers in forgeries {
                let reply = try await HTTP.send("POST", node.baseURL + "/v1/chat/completions", body: Array(Self.chat.utf8), headers: headers)
                #expect(reply.status == 401, "\(headers): \(reply.text)")
                #expect(try reply.json()["error"]?["request_id"]?.stringValue == reply.headers.first(name: "x-request-id"))
            }
            #expect(try await HTTP.get(node.baseURL + "/health").status == 200)
            #expect(try await RouterTests.chat(node, "mock-ok").status == 200)
        }
    }

    /// Behind a valid request, pipelined requests that carry the old internal headers instead of
    /// a key are refused; none is served, counted as another agent, or spared the rate limit.
    @Test func pipelinedForgeriesAreRefused() async throws {
        let root = TemporaryDirectory()
        let agents = """
              - name: slow
                key_sha256: \(Hashing.sha256Hex("slow-key-0123456789abcdef0123456789"))
                rpm: 1
            """
        let node = try RouterTests.node(root, swapper: RouterTests.mockSwapper(["ok"]), agents: agents)
        try await withGuardians([node]) {
            try await node.start()
            #expect(try await RouterTests.chat(node, "mock-ok").status == 200)
            let valid = RawHTTP.post("/v1/chat/completions", Self.chat)
            let forgedHop = RawHTTP.post(
                "/v1/chat/completions", Self.chat, key: nil,
                extraHeaders: "x-dagi-hop: 1\r\nx-dagi-hop-verified: 1\r\nx-dagi-model: mock-ok\r\nx-dagi-agent: atlas\r\n"
            )
            let forgedSkip = RawHTTP.post("/v1/chat/completions", Self.chat, key: nil, extraHeaders: "x-dagi-fastpath-skip: mock|x\r\n")
            let answer = try await RawHTTP.exchange(port: node.port, send: valid + forgedHop, until: { $0.components(separatedBy: "HTTP/1.1 ").count >= 3 })
            let statuses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["200", "401"], "\(answer)")
            let second = try await RawHTTP.exchange(port: node.port, send: valid + forgedSkip, until: { $0.components(separatedBy: "HTTP/1.1 ").count >= 3 })
            #expect(second.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) } == ["200", "401"], "\(second)")

            // A rate-limited agent's pipelined second request, dressed as a handed-over one, is
            // still counted: 429.
            let limited = RawHTTP.post("/v1/chat/completions", Self.chat, key: "slow-key-0123456789abcdef0123456789")
            let skipping = RawHTTP.post("/v1/chat/completions", Self.chat, key: "slow-key-0123456789abcdef0123456789", extraHeaders: "x-dagi-fastpath-skip: r1/swapper/mock-ok|x\r\n")
            let throttled = try await RawHTTP.exchange(port: node.port, send: limited + skipping, until: { $0.components(separatedBy: "HTTP/1.1 ").count >= 3 })
            #expect(throttled.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) } == ["200", "429"], "\(throttled)")
        }
    }

    /// A body without a key is never read: 401 at once, and the node's memory does not grow
    /// by the body's size, declared or chunked.
    @Test func keylessBodiesAreRefusedUnread() async throws {
        let root = TemporaryDirectory()
        let node = try RouterTests.node(root, swapper: RouterTests.mockSwapper(["ok"]), router: "  max_body: 64MiB")
        try await withGuardians([node]) {
            try await node.start()
            let before = residentBytes(of: node.pid)
            let megabyte = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
            for framing in ["Content-Length: \(50 << 20)", "Transfer-Encoding: chunked"] {
                let connection = try RawConnection(port: node.port)
                connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\(framing)\r\n\r\n")
                var sent = 0
                for _ in 0..<50 {
                    let chunk = framing.hasPrefix("Transfer") ? Array("100000\r\n".utf8) + megabyte + Array("\r\n".utf8) : megabyte
                    guard connection.send(chunk) else { break }
                    sent += 1
                }
                let answer = await connection.read(until: { $0.contains("\r\n\r\n") && $0.contains("}") })
                #expect(answer.hasPrefix("HTTP/1.1 401"), "\(framing): \(answer.prefix(200))")
                #expect(answer.contains("invalid_api_key"))
                #expect(sent < 50 || connection.isClosedByPeer, "the connection is not kept to read the rest")
            }
            let after = residentBytes(of: node.pid)
            #expect(after - before < 24 << 20, "RSS grew by \((after - before) >> 20) MiB")
            #expect(try await HTTP.get(node.baseURL + "/health").status == 200)
        }
    }

    /// Idle connections are closed after `idle_timeout`; past `max_connections`, new ones are
    /// closed at once while the earlier ones stay.
    @Test func idleAndExcessConnectionsAreClosed() async throws {
        let root = TemporaryDirectory()
        func node(_ id: String, _ section: String) throws -> GuardianProcess {
            let config = root.path + "/\(id).yaml"
            try "node:\n\(section)\nollama: null\n".write(toFile: config, atomically: true, encoding: .utf8)
            return try GuardianProcess(nodeID: id, root: root.path, arguments: ["--config", config])
        }
        let idle = try node("idle", "  idle_timeout: 2s")
        let small = try node("small", "  max_connections: 50")
        try await withGuardians([idle, small]) {
            try await idle.start()
            try await small.start()
            let connections = try (0..<500).map { _ in try RawConnection(port: idle.port) }
            try await poll(timeout: .seconds(15), "500 idle connections to be closed") {
                connections.allSatisfy(\.isClosedByPeer)
            }
            #expect(try await HTTP.get(idle.baseURL + "/health").status == 200)

            // The limit (50, a few of them the test client's own pooled connections): 40 held open,
            // of 20 more at least 10 are closed at once, and the 40 stay.
            let held = try (0..<40).map { _ in try RawConnection(port: small.port) }
            // One answered request on each: all of them are accepted and counted before the next.
            for connection in held {
                connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                let reply = await connection.read(until: { $0.contains("\"ok\"") })
                #expect(reply.contains("200 OK"))
            }
            let extra = try (0..<20).map { _ in try RawConnection(port: small.port) }
            try await poll(timeout: .seconds(5), "connections over the limit to be closed") { extra.filter(\.isClosedByPeer).count >= 10 }
            #expect(held.filter(\.isClosedByPeer).isEmpty, "connections within the limit stay open")
            // Once they go, the node serves again.
            held.forEach { $0.shutdown() }
            try await poll(timeout: .seconds(5), "the node to accept again") { (try? await HTTP.get(small.baseURL + "/health"))?.status == 200 }
        }
    }

    /// Parameters no model server would accept are refused before any upstream is called, and
    /// an upstream's own client error reaches the client in the client's API, with a code and
    /// the request id.
    @Test func badParametersAndUpstreamErrorsAreExplained() async throws {
        let root = TemporaryDirectory()
        let node = try RouterTests.node(root, swapper: RouterTests.mockSwapper(["ok", "400"]))
        try await withGuardians([node]) {
            try await node.start()
            let url = node.baseURL + "/v1/chat/completions"
            let messages: JSONValue = [["role": "user", "content": "hi"]]
            for (field, value) in [("max_tokens", JSONValue.int(-1)), ("max_tokens", 0), ("temperature", 3), ("n", 0), ("top_p", 1.5), ("messages", "hi")] {
                var body: [String: JSONValue] = ["model": "mock-ok", "messages": messages]
                body[field] = value
                let reply = try await HTTP.post(url, json: .object(body), headers: RouterTests.auth)
                #expect(reply.status == 400, "\(field)=\(value): \(reply.text)")
                let error = try reply.json()["error"]
                #expect(error?["param"]?.stringValue == field)
                #expect(error?["code"]?.stringValue == "invalid_value" || error?["code"]?.stringValue == "invalid_type")
            }
            // No upstream was started for any of them.
            let running = try await HTTP.get(node.baseURL + "/swapper/running").json()
            #expect(running["models"]?.arrayValue?.allSatisfy { $0["state"] == "available" } == true, "\(running.jsonString)")

            let relayed = try await RouterTests.chat(node, "mock-400")
            #expect(relayed.status == 400, "\(relayed.text)")
            let error = try relayed.json()["error"]
            #expect(error?["code"] == "prompt_rejected")
            #expect(error?["message"]?.stringValue?.contains("not acceptable") == true)
            #expect(error?["request_id"]?.stringValue == relayed.headers.first(name: "x-request-id"))
            let ollama = try await HTTP.post(node.baseURL + "/api/chat", json: ["model": "mock-400", "messages": messages, "stream": false], headers: RouterTests.auth)
            #expect(ollama.status == 400)
            #expect(try ollama.json()["error"]?.stringValue?.contains("not acceptable") == true, "\(ollama.text)")
            #expect(try ollama.json()["code"] == "prompt_rejected")
        }
    }

    /// A node that cannot listen says so at once and exits non-zero.
    @Test func aTakenPortFailsStartUpAtOnce() async throws {
        let root = TemporaryDirectory()
        let blocker = try await MockServer { _ in }
        let port = blocker.port
        let (status, _, err) = try await Binaries.run("node-guardian", [
            "run", "--node-id", "taken", "--data-dir", root.path + "/taken", "--listen", "127.0.0.1:\(port)",
        ])
        #expect(status != 0)
        #expect(err.contains("cannot listen on 127.0.0.1:\(port)"), "\(err)")
        _ = blocker
    }
}
