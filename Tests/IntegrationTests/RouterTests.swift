import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Testing

/// The router with real clients, real model servers, real peers and real failures.
@Suite(.serialized) struct RouterTests {
    static let key = "sk-atlas-test-key-0123456789abcdef"

    /// A guardian with the given sections and agent atlas (key in DAGI_KEY_ATLAS).
    static func node(
        _ root: TemporaryDirectory, id: String = "r1", swapper: String = "", router: String = "", agents: String = "", mesh: String = "",
        ollama: String = "null", port: Int? = nil
    ) throws -> GuardianProcess {
        let config = root.path + "/\(id).yaml"
        try """
            metrics:
              interval: 1h
            ollama: \(ollama)
            agents:
              - name: atlas
                key_env: DAGI_KEY_ATLAS
            \(agents)
            router:
              request_timeout: 20s
            \(router)
            \(mesh)
            \(swapper)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try GuardianProcess(
            nodeID: id, root: root.path, port: port, arguments: ["--config", config],
            environment: ["DAGI_KEY_ATLAS": key, "DAGI_MESH_SECRET": MeshHarness.secret]
        )
    }

    static var auth: [(String, String)] { [("authorization", "Bearer \(key)")] }

    /// A Swapper section with one scripted OpenAI server per mode (scripts/fixtures/mock_upstream.py),
    /// each model named `mock-MODE`.
    static func mockSwapper(_ modes: [String]) -> String {
        let script = RealModels.repository + "/scripts/fixtures/mock_upstream.py"
        var section = "swapper:\n  start_port: \(20000 + Int.random(in: 0..<20000))\n  models:"
        for mode in modes {
            section += "\n    mock-\(mode):\n      cmd: python3 \(script) --port ${PORT} --mode \(mode) --name mock-\(mode)"
        }
        return section
    }

    static func chat(_ node: GuardianProcess, _ model: String, stream: Bool = false, tokens: Int = 4, path: String = "/v1/chat/completions") async throws -> HTTP.Reply {
        try await HTTP.post(node.baseURL + path, json: [
            "model": .string(model), "max_tokens": .int(Int64(tokens)), "stream": .bool(stream),
            "messages": [["role": "user", "content": "Say hello."]],
        ], headers: auth, timeout: .seconds(120))
    }

    /// The official openai and ollama Python clients against the router, with llama-server and
    /// SmolLM2 behind the Swapper.
    @Test func officialClientsWork() async throws {
        let root = TemporaryDirectory()
        let embed = """
                smollm2-embed:
                  cmd: ${LLAMA} -m ${MODEL_PATH} --port ${PORT} --host 127.0.0.1 -t 1 -c 512 --embeddings --pooling mean
                  model_path: \(try RealModels.smollm2())
            """
        let node = try Self.node(root, swapper: try RealModels.swapperSection(extraModels: embed), router: "  aliases:\n    fast: [smollm2]")
        try await withGuardians([node]) {
            try await node.start()
            let (code, out, err) = try await Python.run(
                RealModels.repository + "/scripts/fixtures/openai_client.py", [node.baseURL + "/v1", Self.key, "fast", "smollm2-embed"]
            )
            #expect(code == 0, "\(err)")
            let seen = try JSONValue.parse(Array(out.utf8))
            let models = seen["models"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(Set(["fast", "smollm2", "tiny", "gemma", "smollm2-embed"]).isSubset(of: Set(models)), "\(models)")
            #expect(seen["chat"]?["content"]?.stringValue?.isEmpty == false)
            #expect(seen["chat"]?["route"] == "local")
            #expect(seen["chat"]?["node"] == "r1")
            #expect(seen["chat"]?["model"] == "smollm2")
            #expect(seen["chat"]?["request_id"]?.stringValue?.hasPrefix("req_") == true)
            #expect((seen["stream"]?["chunks"]?.intValue ?? 0) >= 30)
            #expect((seen["stream"]?["spread_ms"]?.doubleValue ?? 0) > 200, "chunks arrive incrementally")
            #expect(seen["stream"]?["usage"] == 32)
            #expect(seen["completion"]?["text"]?.stringValue?.isEmpty == false)
            #expect(seen["embeddings"]?["count"] == 2)
            #expect((seen["embeddings"]?["dims"]?.intValue ?? 0) > 100)
            #expect(seen["unknown"]?["status"] == 404)
            #expect(seen["unknown"]?["code"] == "model_not_found")

            let ollama = try await Python.run(RealModels.repository + "/scripts/fixtures/ollama_client.py", [node.baseURL, Self.key, "smollm2"])
            #expect(ollama.0 == 0, "\(ollama.2)")
            let o = try JSONValue.parse(Array(ollama.1.utf8))
            #expect((o["list"]?.arrayValue ?? []).contains("smollm2"))
            #expect(o["chat"]?["role"] == "assistant")
            #expect(o["chat"]?["content"]?.stringValue?.isEmpty == false)
            #expect(o["chat"]?["done"] == true)
            #expect(o["chat"]?["eval_count"] == 8)
            // ignore_eos (a llama.cpp option passed through) makes the model use all 12 tokens.
            #expect((o["chat_stream"]?["parts"]?.intValue ?? 0) >= 10, "streamed line by line")
            #expect(o["chat_stream"]?["done_reason"] == "length")
            #expect(o["chat_stream"]?["eval_count"] == 12)
            #expect((o["chat_stream"]?["total_duration"]?.intValue ?? 0) > 0)
            #expect(o["generate"]?["response"]?.stringValue?.isEmpty == false)
            #expect(o["generate"]?["done"] == true)
            #expect((o["generate_stream"]?["parts"]?.intValue ?? 0) >= 5)
            #expect(o["unknown"]?["status"] == 404)

            // Usage was metered per request and agent, off the request path, and the agent is active.
            try await poll(timeout: .seconds(10), "the usage ledger") {
                let usage = try await node.store().usage()
                return usage.count >= 8 && usage.allSatisfy { $0.agent == "atlas" }
                    && usage.reduce(0) { $0 + $1.completionTokens } >= 32 + 8
            }
            let (_, status, _) = try await Binaries.run("dagi", ["status", "--json", "--data-dir", node.dataDirectory])
            let atlas = (try JSONValue.parse(Array(status.utf8))["agents"]?.arrayValue ?? []).first { $0["name"] == "atlas" }
            #expect(atlas?["status"] == "active")

            // `dagi route --explain` tells where "fast" goes and why.
            let (routeCode, route, routeErr) = try await Binaries.run("dagi", ["route", "fast", "--agent", "atlas", "--explain", "--data-dir", node.dataDirectory])
            #expect(routeCode == 0, "\(routeErr)")
            #expect(route.contains("smollm2 on r1") && route.contains("loaded here"), "\(route)")

            // A key made with `dagi keys create` works at once.
            let (_, newKey, _) = try await Binaries.run("dagi", ["keys", "create", "helper", "--data-dir", node.dataDirectory])
            let reply = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: [
                "model": "tiny", "max_tokens": 2, "messages": [["role": "user", "content": "hi"]],
            ], headers: [("authorization", "Bearer " + newKey.trimmingCharacters(in: .whitespacesAndNewlines))])
            #expect(reply.status == 200, "\(reply.text)")
        }
    }

    /// The model lives only on node B: node A's router sends the request there, streaming
    /// included. When B dies, A answers a clear 503 quickly; when B hangs, A answers within its
    /// deadline.
    @Test func routesToThePeerThatHasTheModel() async throws {
        let root = TemporaryDirectory()
        let portA = try FreePort.allocate(), portB = try FreePort.allocate()
        let meshA = "mesh:\n  peers: [http://127.0.0.1:\(portB)]\n  sync_interval: 500ms\n  request_timeout: 2s"
        let meshB = "mesh:\n  peers: [http://127.0.0.1:\(portA)]\n  sync_interval: 500ms\n  request_timeout: 2s"
        // Short enough that the hung peer below costs seconds, long enough for a real answer to
        // begin on two cores shared with the rest of the suite.
        let a = try Self.node(root, id: "a", router: "  first_byte_timeout: 8s", mesh: meshA, port: portA)
        let b = try Self.node(root, id: "b", swapper: try RealModels.swapperSection(), mesh: meshB, port: portB)
        try await withGuardians([a, b]) {
            try await b.start()
            try await a.start()
            try await poll(timeout: .seconds(20), "a's router to learn b's models") {
                let models = try await HTTP.get(a.baseURL + "/v1/models", headers: Self.auth).json()
                return models["data"]?.arrayValue?.contains { $0["id"] == "smollm2" && $0["owned_by"] == "b" } == true
            }
            // Loaded on b first: a's short first-byte timeout is for a hung peer, not a cold start.
            #expect(try await Self.chat(b, "smollm2").status == 200)
            let reply = try await Self.chat(a, "smollm2")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.headers.first(name: "x-dagi-route") == "remote:b")
            #expect(reply.headers.first(name: "x-dagi-node") == "b")
            #expect(try reply.json()["choices"]?.arrayValue?.isEmpty == false)
            // b's llama-server runs without --alias and calls the model by its file's path; the
            // answer names it as the client asked, whole and in every streamed chunk.
            #expect(try reply.json()["model"] == "smollm2", "\(reply.text)")

            let streamed = try await Self.chat(a, "smollm2", stream: true, tokens: 8)
            #expect(streamed.status == 200)
            #expect(streamed.headers.first(name: "x-dagi-route") == "remote:b")
            #expect(streamed.headers.first(name: "content-type")?.contains("text/event-stream") == true)
            // At least a content chunk, the finish chunk and [DONE]: llama-server sends the bytes of
            // a character that spans tokens (an emoji) in one chunk, so 8 tokens may be 2 chunks
            // (CI at 953bcd1: SmolLM2 answered with two emojis).
            #expect(streamed.text.components(separatedBy: "data: ").count >= 4 && streamed.text.contains("[DONE]"), "\(streamed.status) \(streamed.text)")
            let chunks = streamed.text.components(separatedBy: "data: ").dropFirst().filter { !$0.hasPrefix("[DONE]") }
            #expect(chunks.allSatisfy { (try? JSONValue.parse(Array($0.utf8)))?["model"] == "smollm2" }, "\(streamed.text)")
            #expect(!streamed.text.contains(".gguf"))

            // The Ollama API crosses the hop too, translated on b.
            let ollama = try await HTTP.post(a.baseURL + "/api/chat", json: [
                "model": "smollm2", "stream": false, "messages": [["role": "user", "content": "hi"]], "options": ["num_predict": 3],
            ], headers: Self.auth)
            #expect(ollama.status == 200, "\(ollama.text)")
            #expect(try ollama.json()["done"] == true)

            // b hangs (SIGSTOP): a gives up at its deadline with a clear error.
            b.signal(SIGSTOP)
            let hung = try await Self.chat(a, "smollm2")
            #expect(hung.status == 503, "\(hung.text)")
            #expect(try hung.json()["error"]?["message"]?.stringValue?.contains("timed out") == true, "\(hung.text)")
            b.signal(SIGCONT)

            // b dies: connection refused, a answers 503 naming the candidate's failure.
            try await b.kill9()
            let dead = try await Self.chat(a, "smollm2")
            #expect(dead.status == 503, "\(dead.text)")
            let error = try dead.json()["error"]
            #expect(error?["candidates"]?.arrayValue?.first?["reason"] == "connection refused", "\(dead.text)")
            #expect(error?["code"] == "all_candidates_failed")
            #expect(error?["candidates"]?.arrayValue?.first?["node"] == "b")
            #expect(dead.headers.first(name: "retry-after") != nil)
        }
    }

    /// Candidates that fail before the first byte (500, a closed connection, a stall) are
    /// skipped for the next; a failure after it ends the stream with an error event.
    @Test func failsOverAndReportsMidStreamFailures() async throws {
        let root = TemporaryDirectory()
        let swapper = Self.mockSwapper(["500", "close", "stall", "midstream", "ok"])
        let router = """
              first_byte_timeout: 2s
              cooldown_after: 2
              aliases:
                via-500: [mock-500, mock-ok]
                via-close: [mock-close, mock-ok]
                via-stall: [mock-stall, mock-ok]
                all-bad: [mock-500, mock-close]
            """
        let node = try Self.node(root, swapper: swapper, router: router)
        try await withGuardians([node]) {
            try await node.start()
            for alias in ["via-500", "via-close", "via-stall"] {
                let reply = try await Self.chat(node, alias)
                #expect(reply.status == 200, "\(alias): \(reply.text)")
                #expect(reply.headers.first(name: "x-dagi-model") == "mock-ok", "\(alias)")
                #expect(try reply.json()["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from mock-ok!")
                let streamed = try await Self.chat(node, alias, stream: true)
                #expect(streamed.status == 200 && streamed.text.contains("[DONE]"), "\(alias) stream")
            }
            let metrics = try await HTTP.get(node.baseURL + "/metrics").text
            #expect(metrics.contains("dagi_router_failovers_total"))
            #expect(!metrics.contains("dagi_router_failovers_total 0"))

            // Every candidate failing: a 503 with each one's reason.
            let failed = try await Self.chat(node, "all-bad")
            #expect(failed.status == 503)
            let reasons = try failed.json()["error"]?["candidates"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? []
            #expect(reasons.count == 2, "\(failed.text)")
            #expect(reasons.contains { $0.contains("500") })
            // Failing twice put mock-500 into cooldown: it is now ranked after mock-ok.
            let explained = try await HTTP.get(node.baseURL + "/v1/routes/via-500").json()
            let order = explained["candidates"]?.arrayValue?.compactMap { $0["candidate"]?["model"]?.stringValue }
            #expect(order == ["mock-ok", "mock-500"], "\(explained.jsonString)")
            #expect(try await HTTP.get(node.baseURL + "/metrics").text.contains("dagi_router_cooldowns_total"))

            // A failure after the first byte: an SSE error event, and an NDJSON error line.
            let sse = try await Self.chat(node, "mock-midstream", stream: true)
            #expect(sse.status == 200)
            #expect(sse.text.contains("Hello"), "the first chunks were relayed")
            #expect(sse.text.contains("event: error") && sse.text.contains("upstream_stream_failed"), "\(sse.text)")
            let ndjson = try await Self.chat(node, "mock-midstream", stream: true, path: "/api/chat")
            let lines = ndjson.text.split(separator: "\n")
            #expect(lines.first?.contains("\"done\":false") == true)
            #expect(lines.last?.contains("\"error\"") == true, "\(ndjson.text)")

            #expect(try await HTTP.get(node.baseURL + "/health").status == 200)
        }
    }

    /// Every error of the router, in OpenAI's shape with a code and the request id.
    @Test func answersBadInputWithClearErrors() async throws {
        let root = TemporaryDirectory()
        let swapper = Self.mockSwapper(["ok"])
        let agents = """
              - name: limited
                key_sha256: \(Hashing.sha256Hex("limited-key"))
                rpm: 2
              - name: narrow
                key_sha256: \(Hashing.sha256Hex("narrow-key"))
                models: [mock-ok]
            """
        let node = try Self.node(root, swapper: swapper, router: "  max_body: 64KiB\n  aliases:\n    other: [mock-ok]", agents: agents)
        try await withGuardians([node]) {
            try await node.start()
            let url = node.baseURL + "/v1/chat/completions"
            func check(_ reply: HTTP.Reply, _ status: Int, _ code: String, param: String? = nil, file: String = #file, line: Int = #line) throws {
                #expect(reply.status == status, "\(code): \(reply.text)")
                let error = try reply.json()["error"]
                #expect(error?["code"]?.stringValue == code, "\(reply.text)")
                #expect(error?["message"]?.stringValue?.isEmpty == false)
                #expect(error?["type"]?.stringValue?.isEmpty == false)
                #expect(error?["request_id"]?.stringValue == reply.headers.first(name: "x-request-id"))
                if let param { #expect(error?["param"]?.stringValue == param) }
            }
            let messages: JSONValue = [["role": "user", "content": "hi"]]
            try check(try await HTTP.post(url, json: ["model": "mock-ok", "messages": messages]), 401, "invalid_api_key")
            try check(try await HTTP.post(url, json: ["model": "mock-ok", "messages": messages], headers: [("authorization", "Bearer wrong")]), 401, "invalid_api_key")
            try check(try await HTTP.send("POST", url, body: Array("{\"model\": \"mock-ok\",".utf8), headers: Self.auth), 400, "invalid_json")
            try check(try await HTTP.post(url, json: ["messages": messages], headers: Self.auth), 400, "missing_field", param: "model")
            try check(try await HTTP.post(url, json: ["model": "mock-ok"], headers: Self.auth), 400, "missing_field", param: "messages")
            try check(try await HTTP.post(url, json: ["model": 42, "messages": messages], headers: Self.auth), 400, "invalid_model", param: "model")
            let unknown = try await HTTP.post(url, json: ["model": "mock-okk", "messages": messages], headers: Self.auth)
            try check(unknown, 404, "model_not_found", param: "model")
            #expect(try unknown.json()["error"]?["message"]?.stringValue?.contains("mock-ok") == true, "close names listed")
            let big = JSONValue.object(["model": "mock-ok", "messages": [["role": "user", "content": .string(String(repeating: "x", count: 70_000))]]])
            try check(try await HTTP.post(url, json: big, headers: Self.auth), 413, "body_too_large")
            try check(
                try await HTTP.post(url, json: ["model": "other", "messages": messages], headers: [("authorization", "Bearer narrow-key")]),
                403, "model_not_allowed", param: "model"
            )
            let limited = [("authorization", "Bearer limited-key")]
            #expect(try await HTTP.post(url, json: ["model": "mock-ok", "messages": messages], headers: limited).status == 200)
            #expect(try await HTTP.post(url, json: ["model": "mock-ok", "messages": messages], headers: limited).status == 200)
            let throttled = try await HTTP.post(url, json: ["model": "mock-ok", "messages": messages], headers: limited)
            try check(throttled, 429, "rate_limit_exceeded")
            #expect(Int(throttled.headers.first(name: "retry-after") ?? "") ?? 0 >= 1)
            // Ollama's routes answer in Ollama's error shape.
            let ollama = try await HTTP.post(node.baseURL + "/api/chat", json: ["model": "nope", "messages": messages], headers: Self.auth)
            #expect(ollama.status == 404)
            #expect(try ollama.json()["error"]?.stringValue?.contains("nope") == true)
            // Nothing of it hurt the server.
            #expect(try await HTTP.get(node.baseURL + "/health").status == 200)
            #expect(try await HTTP.post(url, json: ["model": "mock-ok", "messages": messages], headers: Self.auth).status == 200)
        }
    }
}

/// The fast path (NIO-level relay of hot requests) behaves like the regular path.
@Suite(.serialized) struct RouterFastPathTests {
    @Test func keepsPipelinedAnswersInOrderAndFreesLeases() async throws {
        let root = TemporaryDirectory()
        let swapper = RouterTests.mockSwapper(["ok"])
        let node = try RouterTests.node(root, swapper: swapper)
        try await withGuardians([node]) {
            try await node.start()
            // Load the model (the regular path starts it); later requests take the fast path.
            #expect(try await RouterTests.chat(node, "mock-ok").status == 200)

            // Three requests in one write on one connection: fast, regular, fast.
            let post = RawHTTP.post("/v1/chat/completions", #"{"model":"mock-ok","messages":[{"role":"user","content":"hi"}]}"#)
            let pipelined = post + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + post
            let answer = try await RawHTTP.exchange(port: node.port, send: pipelined, until: { text in
                text.components(separatedBy: "HTTP/1.1 200").count == 4 && text.hasSuffix("}") && text.contains("\"status\"")
            })
            // Bodies have no trailing newline, so a status line may follow one directly.
            #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 4, "\(answer)")
            #expect(answer.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 4, "\(answer)")
            let first = try #require(answer.range(of: "Hello from mock-ok!"))
            let health = try #require(answer.range(of: "\"status\":\"ok\""))
            let last = try #require(answer.range(of: "Hello from mock-ok!", options: .backwards))
            #expect(first.lowerBound < health.lowerBound && health.lowerBound < last.lowerBound)
            #expect(answer.lowercased().contains("x-dagi-route: local"))

            // A client that goes away mid-stream: the relay stops and the lease is freed.
            let request = RawHTTP.post("/v1/chat/completions", #"{"model":"mock-ok","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            _ = try await RawHTTP.exchange(port: node.port, send: request, until: { $0.contains("Hello") })
            try await poll(timeout: .seconds(5), "the lease to be released") {
                let running = try await HTTP.get(node.baseURL + "/swapper/running").json()
                let model = running["models"]?.arrayValue?.first { $0["model"] == "mock-ok" }
                return model?["inflight"] == 0
            }
            #expect(try await RouterTests.chat(node, "mock-ok").status == 200)
        }
    }
}
