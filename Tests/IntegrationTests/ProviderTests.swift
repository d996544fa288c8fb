import Foundation
import MeshCore
import MeshHTTP
import MeshStore
import Testing

/// Cloud providers behind the router: each kind against a local server that follows its wire
/// format, the official clients in front, the ledger and its costs checked by hand.
@Suite(.serialized) struct ProviderTests {
    static let keys = [
        "openai": "sk-openai-test-key-0123456789abcdef0123",
        "anthropic": "sk-ant-test-key-0123456789abcdef01234567",
        "gemini": "AIza-gemini-test-key-0123456789abcdef012",
        "deepseek": "sk-deepseek-test-key-0123456789abcdef01",
    ]

    /// USD per million tokens, as configured below.
    static let prices: [String: (input: Double, cached: Double, cacheWrite: Double, output: Double)] = [
        "gpt-mini": (0.40, 0.10, 0.50, 1.60), "claude-haiku": (1.00, 0.10, 1.25, 5.00), "flash": (0.30, 0.03, 0.375, 2.50),
        "ds-chat": (0.27, 0.07, 0.3375, 1.10),
    ]

    struct Fakes {
        let openai: FakeProvider
        let anthropic: FakeProvider
        let gemini: FakeProvider
        let deepseek: FakeProvider

        static func start() async throws -> Fakes {
            Fakes(
                openai: try await FakeProvider(kind: "openai", key: ProviderTests.keys["openai"]!),
                anthropic: try await FakeProvider(kind: "anthropic", key: ProviderTests.keys["anthropic"]!),
                gemini: try await FakeProvider(kind: "gemini", key: ProviderTests.keys["gemini"]!),
                deepseek: try await FakeProvider(kind: "openai", key: ProviderTests.keys["deepseek"]!, deepseek: true)
            )
        }

        func stop() { [openai, anthropic, gemini, deepseek].forEach { $0.stop() } }

        var providersSection: String {
            """
            providers:
              openai: { kind: openai, key_env: OPENAI_API_KEY, base_url: \(openai.baseURL)/v1 }
              anthropic: { kind: anthropic, key_env: ANTHROPIC_API_KEY, base_url: \(anthropic.baseURL) }
              google: { kind: gemini, key_env: GEMINI_API_KEY, base_url: \(gemini.baseURL) }
              deepseek: { kind: openai, key_env: DEEPSEEK_API_KEY, base_url: \(deepseek.baseURL) }
            cloud_models:
              gpt-mini: { provider: openai, id: gpt-4.1-mini, input: 0.40, cached_input: 0.10, output: 1.60 }
              claude-haiku: { provider: anthropic, id: claude-haiku-4-5, input: 1.00, cached_input: 0.10, cache_write: 1.25, output: 5.00 }
              flash: { provider: google, id: gemini-2.5-flash, input: 0.30, cached_input: 0.03, output: 2.50 }
              ds-chat: { provider: deepseek, id: deepseek-reasoner, input: 0.27, cached_input: 0.07, output: 1.10 }
            """
        }
    }

    static var environment: [String: String] {
        [
            "OPENAI_API_KEY": keys["openai"]!, "ANTHROPIC_API_KEY": keys["anthropic"]!, "GEMINI_API_KEY": keys["gemini"]!, "DEEPSEEK_API_KEY": keys["deepseek"]!,
            "DAGI_KEY_ATLAS": RouterTests.key, "DAGI_MESH_SECRET": MeshHarness.secret,
        ]
    }

    /// A node with the fakes as its providers and agent atlas allowed to use them.
    static func node(_ root: TemporaryDirectory, _ fakes: Fakes, id: String = "c1", extra: String = "", port: Int? = nil) throws -> GuardianProcess {
        let config = root.path + "/\(id).yaml"
        try """
            metrics:
              interval: 1h
            ollama: null
            agents:
              - name: atlas
                key_env: DAGI_KEY_ATLAS
                allow_cloud: true
            \(fakes.providersSection)
            \(extra)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try GuardianProcess(nodeID: id, root: root.path, port: port, arguments: ["--config", config], environment: environment)
    }

    /// What `usage` cost at `model`'s configured prices.
    static func cost(_ model: String, prompt: Int64, cached: Int64, cacheWrite: Int64, completion: Int64) -> Double {
        let p = prices[model]!
        return (Double(prompt - cached - cacheWrite) * p.input + Double(cached) * p.cached + Double(cacheWrite) * p.cacheWrite
            + Double(completion) * p.output) / 1_000_000
    }

    /// The fakes below stand in for the clouds only if the official SDKs parse them as they parse
    /// the real services: answers, streams, usage, tools, typed errors.
    @Test func theFakesSpeakEachProvidersWireFormat() async throws {
        let (code, out, err) = try await Python.run(RealModels.repository + "/scripts/fixtures/check_fake_providers.py", [])
        #expect(code == 0, "\(out)\n\(err)")
        #expect(out.contains(" passed, 0 failed"), "\(out)")
    }

    @Test func eachProviderKindServesTheOfficialOpenAIClient() async throws {
        let root = TemporaryDirectory()
        let fakes = try await Fakes.start()
        defer { fakes.stop() }
        // Anthropic's cache figures: 5 tokens read from its cache, 3 written to it.
        try await fakes.anthropic.control(["cached_tokens": 5, "cache_creation_tokens": 3])
        try await fakes.openai.control(["cached_tokens": 4, "reasoning_tokens": 2])
        try await fakes.deepseek.control(["cached_tokens": 6, "reasoning_tokens": 3])
        let node = try Self.node(root, fakes)
        try await withGuardians([node]) {
            try await node.start()
            let models = ["gpt-mini", "claude-haiku", "flash", "ds-chat"]
            let (code, out, err) = try await Python.run(RealModels.repository + "/scripts/fixtures/cloud_clients.py", [node.baseURL + "/v1", RouterTests.key] + models)
            #expect(code == 0, "\(err)")
            let seen = try JSONValue.parse(Array(out.utf8))
            let routes = ["gpt-mini": "cloud:openai", "claude-haiku": "cloud:anthropic", "flash": "cloud:google", "ds-chat": "cloud:deepseek"]
            for model in models {
                let chat = seen[model]?["chat"]
                #expect(chat?["content"]?.stringValue?.hasPrefix("echo: ") == true, "\(model): \(chat?.jsonString ?? "")")
                #expect(chat?["finish"] == "stop")
                #expect(chat?["route"]?.stringValue == routes[model])
                #expect((seen[model]?["stream"]?["chunks"]?.intValue ?? 0) >= 3, "\(model) streams in pieces")
                #expect(seen[model]?["stream"]?["content"]?.stringValue?.hasPrefix("echo: ") == true)
                #expect(seen[model]?["stream"]?["usage"]?["prompt_tokens"]?.intValue ?? 0 > 0, "\(model): usage on request")
                #expect(seen[model]?["stream_without_usage"]?["usage_chunks"] == 0, "\(model): no usage chunk unless asked")
                #expect(seen[model]?["tool"]?["finish"] == "tool_calls", "\(model): \(seen[model]?["tool"]?.jsonString ?? "")")
                #expect(seen[model]?["tool"]?["calls"] == [["name": "get_weather", "arguments": ["city": "Paris"]]])
                #expect(seen[model]?["tool_stream"]?["name"] == "get_weather")
                #expect(seen[model]?["tool_stream"]?["arguments"] == [["city": "Paris"]])
            }

            // The ledger holds what each provider reported, and the cost its prices make.
            try await poll(timeout: .seconds(10), "the ledger") { try await node.store().usage().count >= 20 }
            let rows = try await node.store().usage()
            #expect(rows.allSatisfy { !$0.estimated }, "\(rows.filter(\.estimated).map(\.model))")
            for model in models {
                let chat = seen[model]?["chat"]
                let requestID = chat?["request_id"]?.stringValue ?? ""
                let row = try #require(rows.first { $0.requestID == requestID }, "\(model)'s chat in the ledger")
                let usage = try #require(chat?["usage"])
                #expect(row.promptTokens == usage["prompt_tokens"]?.intValue, "\(model)")
                #expect(row.completionTokens == usage["completion_tokens"]?.intValue, "\(model)")
                let expected = Self.cost(model, prompt: row.promptTokens, cached: row.cachedTokens, cacheWrite: row.cacheWriteTokens, completion: row.completionTokens)
                #expect(abs(row.costUSD - expected) < 1e-12, "\(model): \(row.costUSD) vs \(expected)")
                #expect(chat?["cost"]?.stringValue == String(format: "%.8f", row.costUSD), "x-dagi-cost-usd")
                #expect(row.route == routes[model] && row.model == model)
            }
            let claude = try #require(rows.first { $0.requestID == seen["claude-haiku"]?["chat"]?["request_id"]?.stringValue })
            #expect(claude.cachedTokens == 5 && claude.cacheWriteTokens == 3, "Anthropic's cache read and write")
            let gpt = try #require(rows.first { $0.requestID == seen["gpt-mini"]?["chat"]?["request_id"]?.stringValue })
            #expect(gpt.cachedTokens == 4 && gpt.reasoningTokens == 2, "OpenAI's cached and reasoning tokens")
            let deepseek = try #require(rows.first { $0.requestID == seen["ds-chat"]?["chat"]?["request_id"]?.stringValue })
            #expect(deepseek.cachedTokens == 6 && deepseek.reasoningTokens == 3, "DeepSeek's prompt_cache_hit_tokens count as cached")
            #expect(seen["ds-chat"]?["chat"]?["reasoning"]?.stringValue?.isEmpty == false, "reasoning_content passes through")

            // Nowhere a key: not in the store, the log, metrics, status, or an error body.
            let wrongModel = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: ["model": "anthropic/x", "messages": 3], headers: RouterTests.auth)
            try await fakes.openai.control(["status": 401, "count": 1])
            let refused = try await RouterTests.chat(node, "gpt-mini")
            #expect(refused.status == 401 || refused.status == 503, "\(refused.text)")
            let metrics = try await HTTP.get(node.baseURL + "/metrics").text
            let (_, status, _) = try await Binaries.run("dagi", ["status", "--json", "--data-dir", node.dataDirectory])
            let (_, usage, _) = try await Binaries.run("dagi", ["usage", "--json", "--data-dir", node.dataDirectory])
            try await node.stop()
            var haystacks = [metrics, status, usage, wrongModel.text, refused.text, node.logTail(100_000)]
            for file in (try? FileManager.default.contentsOfDirectory(atPath: node.dataDirectory)) ?? [] {
                haystacks.append(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: node.dataDirectory + "/" + file))) ?? Data(), as: UTF8.self))
            }
            for key in Self.keys.values {
                #expect(!haystacks.contains { $0.contains(key) }, "a provider key leaked")
            }
        }
    }

    /// Agents built on the Anthropic SDK reach a local llama-server model and an OpenAI-kind
    /// provider through POST /v1/messages, streams and tools included.
    @Test func theAnthropicSDKReachesMeshModelsAndProviders() async throws {
        let root = TemporaryDirectory()
        let fakes = try await Fakes.start()
        defer { fakes.stop() }
        let node = try Self.node(root, fakes, extra: try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            let script = RealModels.repository + "/scripts/fixtures/anthropic_client.py"
            let (code, out, err) = try await Python.run(script, [node.baseURL, RouterTests.key, "gpt-mini"])
            #expect(code == 0, "\(err)")
            let seen = try JSONValue.parse(Array(out.utf8))["gpt-mini"]
            #expect(seen?["message"]?["text"]?.stringValue?.hasPrefix("echo: ") == true, "\(seen?.jsonString ?? "")")
            #expect(seen?["message"]?["stop"] == "end_turn")
            #expect(seen?["message"]?["model"] == "gpt-mini")
            #expect((seen?["message"]?["input"]?.intValue ?? 0) > 0)
            #expect((seen?["stream"]?["deltas"]?.intValue ?? 0) >= 3)
            #expect(seen?["stream"]?["stop"] == "end_turn")
            #expect(seen?["tool"]?["stop"] == "tool_use")
            #expect(seen?["tool"]?["calls"] == [["name": "get_weather", "input": ["city": "Paris"]]])
            #expect(seen?["tool_stream"]?["calls"] == [["name": "get_weather", "input": ["city": "Paris"]]])
            #expect(seen?["unknown"]?["status"] == 404)
            #expect(seen?["unknown"]?["type"] == "not_found_error")

            // A real model on the mesh answers the same client (tools are beyond SmolLM2).
            let local = try await Python.run(script, [node.baseURL, RouterTests.key, "smollm2", "--no-tools"])
            #expect(local.0 == 0, "\(local.2)")
            let answer = try JSONValue.parse(Array(local.1.utf8))["smollm2"]
            #expect(answer?["message"]?["text"]?.stringValue?.isEmpty == false, "\(answer?.jsonString ?? "")")
            #expect(["end_turn", "max_tokens"].contains(answer?["message"]?["stop"]?.stringValue ?? ""))
            #expect((answer?["stream"]?["deltas"]?.intValue ?? 0) >= 3)
            #expect((answer?["message"]?["output"]?.intValue ?? 0) > 0)
        }
    }

    /// Local → peer → cloud: the only mesh candidate dies and the cloud answers; a provider that
    /// says 429 with Retry-After is left alone that long; an agent without cloud rights gets a
    /// 503 that says why.
    @Test func failsOverToTheCloudAndHonoursRetryAfter() async throws {
        let root = TemporaryDirectory()
        let fakes = try await Fakes.start()
        defer { fakes.stop() }
        let portA = try FreePort.allocate(), portB = try FreePort.allocate()
        let mesh = { (port: Int) in "mesh:\n  peers: [http://127.0.0.1:\(port)]\n  sync_interval: 500ms\n  request_timeout: 2s" }
        let agents = """
            router:
              first_byte_timeout: 3s
              aliases:
                smart: [mock-ok, gpt-mini, claude-haiku]
            """
        let a = try Self.node(root, fakes, id: "a", extra: agents + "\n" + mesh(portB), port: portA)
        let b = try RouterTests.node(root, id: "b", swapper: RouterTests.mockSwapper(["ok"]), mesh: mesh(portA), port: portB)
        try await withGuardians([a, b]) {
            try await b.start()
            try await a.start()
            try await MeshRoutingHardeningTests.awaitModel("mock-ok", on: a, ownedBy: "b")
            let viaPeer = try await RouterTests.chat(a, "smart")
            #expect(viaPeer.headers.first(name: "x-dagi-route") == "remote:b", "\(viaPeer.text)")

            try await b.kill9()
            let viaCloud = try await RouterTests.chat(a, "smart")
            #expect(viaCloud.status == 200, "\(viaCloud.text)")
            #expect(viaCloud.headers.first(name: "x-dagi-route") == "cloud:openai")

            try await fakes.openai.control(["status": 429, "retry_after": 30, "count": 1])
            let before = try await fakes.openai.requestCount
            let next = try await RouterTests.chat(a, "smart")
            #expect(next.status == 200, "\(next.text)")
            #expect(next.headers.first(name: "x-dagi-route") == "cloud:anthropic", "the next provider")
            let again = try await RouterTests.chat(a, "smart")
            #expect(again.headers.first(name: "x-dagi-route") == "cloud:anthropic")
            #expect(try await fakes.openai.requestCount == before + 1, "OpenAI rests for its Retry-After")
            let providers = try await HTTP.get(a.baseURL + "/v1/providers").json()
            let openai = providers["data"]?.arrayValue?.first { $0["name"] == "openai" }
            #expect(openai?["state"] == "resting", "\(providers.jsonString)")

            // An agent that may not use the cloud: the mesh's only candidate is down, and the
            // 503 says the cloud was not tried and why.
            try await MeshHarness.putAgent(a, "atlas", ["allow_cloud": false])
            try await poll(timeout: .seconds(5), "the policy change") {
                try await RouterTests.chat(a, "smart").status == 503
            }
            let refused = try await RouterTests.chat(a, "smart")
            let message = try refused.json()["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("cloud models not tried (gpt-mini, claude-haiku): agent atlas has allow_cloud: false"), "\(refused.text)")
            // With no mesh candidate at all, the refusal is its own code.
            let direct = try await RouterTests.chat(a, "gpt-mini")
            #expect(direct.status == 503)
            #expect(try direct.json()["error"]?["code"] == "cloud_not_allowed", "\(direct.text)")
        }
    }

    /// Requests on two nodes, each to its own provider: either node's `/v1/usage`, `/v1/costs` and
    /// `dagi costs` show the same mesh-wide totals, equal to what the providers reported (streams
    /// included) at the configured prices.
    @Test func twoNodesAnswerForTheWholeLedger() async throws {
        let root = TemporaryDirectory()
        let fakes = try await Fakes.start()
        defer { fakes.stop() }
        try await fakes.anthropic.control(["cached_tokens": 5, "cache_creation_tokens": 3])
        try await fakes.openai.control(["cached_tokens": 4, "reasoning_tokens": 2])
        let portA = try FreePort.allocate(), portB = try FreePort.allocate()
        let mesh = { (port: Int) in "mesh:\n  peers: [http://127.0.0.1:\(port)]\n  sync_interval: 300ms" }
        let a = try Self.node(root, fakes, id: "a", extra: mesh(portB), port: portA)
        let b = try Self.node(root, fakes, id: "b", extra: mesh(portA), port: portB)
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            let script = RealModels.repository + "/scripts/fixtures/cloud_clients.py"
            let onA = try await Python.run(script, [a.baseURL + "/v1", RouterTests.key, "gpt-mini"])
            #expect(onA.0 == 0, "\(onA.2)")
            let onB = try await Python.run(script, [b.baseURL + "/v1", RouterTests.key, "claude-haiku"])
            #expect(onB.0 == 0, "\(onB.2)")

            // What the providers reported, priced by hand.
            func reported(_ fake: FakeProvider) async throws -> (prompt: Int64, cached: Int64, write: Int64, completion: Int64) {
                let tokens = try await fake.stats()["tokens"]
                return (tokens?["prompt"]?.intValue ?? -1, tokens?["cached"]?.intValue ?? -1, tokens?["cache_write"]?.intValue ?? -1,
                        tokens?["completion"]?.intValue ?? -1)
            }
            let openai = try await reported(fakes.openai), anthropic = try await reported(fakes.anthropic)
            let requests = try await fakes.openai.requestCount + fakes.anthropic.requestCount
            #expect(requests == 10)
            let cost = Self.cost("gpt-mini", prompt: openai.prompt, cached: openai.cached, cacheWrite: openai.write, completion: openai.completion)
                + Self.cost("claude-haiku", prompt: anthropic.prompt, cached: anthropic.cached, cacheWrite: anthropic.write, completion: anthropic.completion)

            let byNode = "/v1/usage?group_by=node"
            try await poll(timeout: .seconds(20), "both ledgers to hold both nodes' rows") {
                for node in [a, b] {
                    let groups = try await HTTP.get(node.baseURL + byNode).json()["data"]?.arrayValue ?? []
                    if groups.reduce(0, { $0 + ($1["requests"]?.intValue ?? 0) }) != requests { return false }
                }
                return true
            }
            let usageA = try await HTTP.get(a.baseURL + byNode).json(), usageB = try await HTTP.get(b.baseURL + byNode).json()
            #expect(usageA["data"] == usageB["data"], "\(usageA.jsonString) vs \(usageB.jsonString)")
            let groups = usageA["data"]?.arrayValue ?? []
            #expect(Set(groups.compactMap { $0["group"]?["node"]?.stringValue }) == ["a", "b"])
            let sum = { (field: String) in groups.reduce(Int64(0)) { $0 + ($1[field]?.intValue ?? 0) } }
            #expect(sum("prompt_tokens") == openai.prompt + anthropic.prompt)
            #expect(sum("completion_tokens") == openai.completion + anthropic.completion)
            #expect(sum("cached_tokens") == openai.cached + anthropic.cached)

            // Rows, CSV, costs: the same on either node, the totals as computed.
            let rowsA = try await HTTP.get(a.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue ?? []
            let rowsB = try await HTTP.get(b.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue ?? []
            #expect(rowsA.count == 10 && rowsA == rowsB)
            let odd = rowsA.filter { $0["estimated"] != false || $0["status"] != 200 }
            #expect(odd.isEmpty, "\(odd.map(\.jsonString))")
            let csv = try await HTTP.get(b.baseURL + "/v1/usage?format=csv&limit=100").text
            #expect(csv.split(whereSeparator: \.isNewline).count == 11 && csv.hasPrefix("time,timestamp_ms,request_id,agent,"), "\(csv.prefix(300))")
            for node in [a, b] {
                let costs = try await HTTP.get(node.baseURL + "/v1/costs").json()
                #expect(abs((costs["month"]?["cost_usd"]?.doubleValue ?? 0) - cost) < 1e-9, "\(node.nodeID): \(costs.jsonString) vs \(cost)")
                #expect(costs["month"]?["prompt_tokens"]?.intValue == openai.prompt + anthropic.prompt)
                let (code, out, err) = try await Binaries.run("dagi", ["costs", "--json", "--data-dir", node.dataDirectory])
                #expect(code == 0, "\(err)")
                let cli = try JSONValue.parse(Array(out.utf8))
                let undated = { (report: JSONValue) in (report.objectValue ?? [:]).filter { $0.key != "generated_at" } }
                #expect(undated(cli) == undated(costs), "dagi costs on \(node.nodeID)")
                let providers = Dictionary(uniqueKeysWithValues: (cli["by_provider"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0["requests"]?.intValue ?? 0) })
                #expect(providers == ["openai": 5, "anthropic": 5], "\(cli["by_provider"]?.jsonString ?? "")")
            }
            // Hostile or mistaken parameters: a 400 naming the parameter, never a 500 or a trap.
            for query in [
                "since=-5", "until=99999999999999999999", "since=9999999999999999999h", "limit=-1", "limit=100001",
                "group_by=agent,model,provider,node,day", "group_by=costs", "format=xml", "format=csv&group_by=agent",
            ] {
                let reply = try await HTTP.get(a.baseURL + "/v1/usage?" + query)
                #expect(reply.status == 400, "\(query): \(reply.status) \(reply.text)")
                #expect(try reply.json()["error"]?["code"] == "invalid_parameter", "\(query): \(reply.text)")
            }
            #expect(try await HTTP.get(a.baseURL + "/v1/usage?group_by=" + Array(repeating: "day", count: 2000).joined(separator: ",")).status == 200)
            let table = try await Binaries.run("dagi", ["costs", "--data-dir", b.dataDirectory]).1
            #expect(table.contains("anthropic") && table.contains("openai"), "\(table)")
        }
    }
}
