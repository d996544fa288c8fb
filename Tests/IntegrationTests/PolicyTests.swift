import Foundation
import MeshCore
import Testing

/// Call policies on real nodes: a policy changed on one node is in force on the other within a
/// sync round (min_interval there); a low-priority agent waits behind normal work on a busy
/// model; tiers limit models, rates and the cloud; prompt_cache: auto marks Anthropic prompts and
/// the ledger shows the saving.
@Suite(.serialized) struct PolicyTests {
    static let bulkKey = "sk-bulk-test-key-0123456789abcdef0123"

    static func put(_ node: GuardianProcess, _ agent: String, _ json: String) async throws -> HTTP.Reply {
        try await HTTP.send("PUT", node.baseURL + "/v1/agents/\(agent)/policy", body: Array(json.utf8), headers: [("content-type", "application/json")])
    }

    static func ask(_ node: GuardianProcess, _ body: String, key: String = RouterTests.key) async throws -> HTTP.Reply {
        try await HTTP.send(
            "POST", node.baseURL + "/v1/chat/completions", body: Array(body.utf8), headers: [("authorization", "Bearer \(key)"), ("content-type", "application/json")],
            timeout: .seconds(60)
        )
    }

    @Test func aPolicyChangedOnOneNodeIsInForceOnTheOtherWithinASyncRound() async throws {
        let root = TemporaryDirectory()
        let agent = """
            ollama: null
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS }
            \(RouterTests.mockSwapper(["ok"]))
            """
        let nodes = try MeshHarness.make(
            root: root, ids: ["pa", "pb"], links: ["pa": ["pb"], "pb": ["pa"]], extra: ["pa": agent, "pb": agent],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key]
        )
        let a = nodes["pa"]!, b = nodes["pb"]!
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            let sampled = #"{"model":"mock-ok","temperature":0.9,"max_tokens":4,"messages":[{"role":"user","content":"Sample me."}]}"#
            // Sampled: each request its own answer on B.
            for _ in 0..<2 { #expect(try await Self.ask(b, sampled).headers.first(name: "x-dagi-cache") == nil) }

            // On A: a minute's min_interval and low priority. Out of range is refused, changing nothing.
            for bad in [#"{"min_interval": "0s"}"#, #"{"min_interval": "2d"}"#, #"{"min_interval": -5}"#, #"{"priority": "urgent"}"#, #"{"prompt_cache": true}"#] {
                let refused = try await Self.put(a, "atlas", bad)
                #expect(refused.status == 400, "\(bad): \(refused.status) \(refused.text)")
            }
            let changed = try await Self.put(a, "atlas", #"{"min_interval": "1m", "priority": "low"}"#)
            #expect(changed.status == 200, "\(changed.text)")
            // B applies it as soon as the row arrives (sync runs every 500 ms here): the repeat
            // within the minute is served from its cache.
            #expect(try await Self.ask(b, sampled).status == 200)
            try await poll(timeout: .seconds(10), "B to answer the repeat from its cache") {
                try await Self.ask(b, sampled).headers.first(name: "x-dagi-cache") == "hit"
            }
            let shown = try await HTTP.get(b.baseURL + "/v1/agents").json()["agents"]?.arrayValue?.first { $0["name"] == "atlas" }
            #expect(shown?["min_interval_ms"] == 60_000 && shown?["priority"] == "low" && shown?["prompt_cache"] == "off", "\(shown?.jsonString ?? "")")
        }
    }

    @Test func lowPriorityWaitsBehindNormalWorkOnABusyModel() async throws {
        let root = TemporaryDirectory()
        let model = OneSlotModel(root)
        let node = try RouterTests.node(
            root, id: "pq",
            swapper: model.swapper,
            agents: "  - { name: bulk, key_env: DAGI_KEY_BULK, priority: low }"
        )
        node.environment["DAGI_KEY_BULK"] = Self.bulkKey
        try await withGuardians([node]) {
            try await node.start()
            func body(_ text: String, held: Bool = false) -> String { model.body(text, held: held) }
            let given = model.given
            #expect(try await Self.ask(node, body("warm")).status == 200)
            // One long request takes the only slot; three low ones queue, then a normal one.
            let busy = Task { try await Self.ask(node, body("busy", held: true)) }
            try await poll(timeout: .seconds(10), "the long request to reach the model") { given() == ["warm", "busy"] }
            var waiting: [Task<HTTP.Reply, any Error>] = []
            for index in 0..<3 {
                waiting.append(Task { try await Self.ask(node, body("low \(index)"), key: Self.bulkKey) })
                try await poll(timeout: .seconds(10), "low \(index) to queue") {
                    try await SwapperTests.running(node)["one-slot"]?["queued"]?.intValue == Int64(index + 1)
                }
            }
            waiting.append(Task { try await Self.ask(node, body("normal")) })
            try await poll(timeout: .seconds(10), "the normal request to queue") {
                try await SwapperTests.running(node)["one-slot"]?["queued"] == 4
            }
            model.release()
            #expect(try await busy.value.status == 200)
            for task in waiting { #expect(try await task.value.status == 200) }
            let served = given()
            #expect(served.count == 6 && served[2] == "normal", "\(served)")
            #expect(Set(served[3...]) == ["low 0", "low 1", "low 2"], "\(served)")
        }
    }

    @Test func tiersLimitModelsRatesAndTheCloud() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let node = try MeshHarness.make(
            root: root, ids: ["pt"], links: [:],
            extra: ["pt": """
                ollama: null
                agents:
                  - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true, tier: free }
                  - { name: bulk, key_env: DAGI_KEY_BULK, allow_cloud: true, tier: pro }
                tiers:
                  free: { models: [mock-ok, gpt-mini], rpm: 3, allow_cloud: false }
                  pro: { rpm: 100 }
                providers:
                  openai: { kind: openai, key_env: OPENAI_API_KEY, base_url: \(fake.baseURL)/v1 }
                cloud_models:
                  gpt-mini: { provider: openai, id: gpt-4.1-mini, input: 1, output: 2 }
                \(RouterTests.mockSwapper(["ok", "500"]))
                """],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "DAGI_KEY_BULK": Self.bulkKey, "OPENAI_API_KEY": CompatTests.openAIKey]
        )["pt"]!
        try await withGuardians([node]) {
            try await node.start()
            let ok = try await RouterTests.chat(node, "mock-ok")
            #expect(ok.status == 200, "\(ok.text)")
            #expect(ok.headers.first(name: "x-ratelimit-limit-requests") == "3")
            // A model outside the tier; a cloud model inside it, but the tier has no cloud.
            let outside = try await RouterTests.chat(node, "mock-500")
            let refusal = try outside.json()["error"]?["code"]
            #expect(outside.status == 403 && refusal == "model_not_allowed", "\(outside.text)")
            let cloud = try await RouterTests.chat(node, "gpt-mini")
            let closed = try cloud.json()["error"]?["code"]
            #expect(cloud.status == 503 && closed == "cloud_not_allowed", "\(cloud.text)")
            // Three requests (refused ones count: they were admitted first) use the tier's minute.
            let over = try await RouterTests.chat(node, "mock-ok")
            #expect(over.status == 429 && over.headers.first(name: "retry-after") != nil, "\(over.status) \(over.text)")
            // Another tier: its own rpm, and its own allow_cloud stands.
            let pro = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: [
                "model": "gpt-mini", "max_tokens": 4, "messages": [["role": "user", "content": "hi"]],
            ], headers: [("authorization", "Bearer \(Self.bulkKey)")])
            #expect(pro.status == 200 && pro.headers.first(name: "x-ratelimit-limit-requests") == "100", "\(pro.text)")
            #expect(try await fake.requestCount == 1)
        }
    }

    @Test func promptCacheAutoMarksAnthropicPromptsAndTheLedgerShowsTheSaving() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "anthropic", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let node = try MeshHarness.make(
            root: root, ids: ["pc"], links: [:],
            extra: ["pc": """
                ollama: null
                agents:
                  - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true, prompt_cache: auto }
                  - { name: bulk, key_env: DAGI_KEY_BULK, allow_cloud: true }
                providers:
                  anthropic: { kind: anthropic, key_env: ANTHROPIC_API_KEY, base_url: \(fake.baseURL) }
                cloud_models:
                  claude: { provider: anthropic, id: claude-haiku-4-5, input: 1, cached_input: 0.1, output: 5 }
                """],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "DAGI_KEY_BULK": Self.bulkKey, "ANTHROPIC_API_KEY": CompatTests.openAIKey]
        )["pc"]!
        try await withGuardians([node]) {
            try await node.start()
            let request: JSONValue = [
                "model": "claude", "max_tokens": 16,
                "messages": [["role": "system", "content": "You are a terse assistant. Long stable instructions."], ["role": "user", "content": "Weather?"]],
                "tools": [["type": "function", "function": ["name": "weather", "description": "Weather by city", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]]]]],
            ]
            try await fake.control(["cached_tokens": 40])
            let marked = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: request, headers: RouterTests.auth)
            #expect(marked.status == 200, "\(marked.text)")
            let sent = try await fake.stats()["last_request"]?["body"]
            #expect(sent?["system"]?.arrayValue?.last?["cache_control"] == ["type": "ephemeral"], "\(sent?.jsonString ?? "")")
            #expect(sent?["tools"]?.arrayValue?.last?["cache_control"] == ["type": "ephemeral"], "\(sent?.jsonString ?? "")")
            // Without prompt_cache: as the client sent it.
            let plain = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: request, headers: [("authorization", "Bearer \(Self.bulkKey)")])
            #expect(plain.status == 200)
            let unmarked = try await fake.stats()["last_request"]?["body"]?.jsonString ?? ""
            #expect(!unmarked.contains("cache_control"), "\(unmarked)")
            // The cached input tokens were cheaper: the row says by how much.
            try await poll(timeout: .seconds(15), "the ledger row") {
                try await HTTP.get(node.baseURL + "/v1/usage?agent=atlas").json()["data"]?.arrayValue?.count == 1
            }
            let row = try #require(try await HTTP.get(node.baseURL + "/v1/usage?agent=atlas").json()["data"]?.arrayValue?.first)
            #expect(row["cached_tokens"] == 40, "\(row.jsonString)")
            // 40 tokens at $0.90 per million less than fresh input.
            #expect(abs((row["saving_usd"]?.doubleValue ?? 0) - 40 * 0.9 / 1_000_000) < 1e-12, "\(row.jsonString)")
        }
    }
}
