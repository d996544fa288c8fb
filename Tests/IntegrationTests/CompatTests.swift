import Foundation
import MeshCore
import MeshStore
import Testing

/// The LLM proxy's and the AI provider service's APIs on a node (`compat:`): their documents'
/// own example calls answered in their shapes, with the ledger's figures; their secrets, their
/// switches, the admission they share with `/v1`, and their requests served by a peer.
@Suite(.serialized) struct CompatTests {
    static let openAIKey = "sk-openai-test-key-0123456789abcdef0123"
    /// The seed documents' own secret (shorter than the node likes: it warns, and accepts it).
    static let seedSecret = "dev-secret-token"
    static let longSecret = "compat-internal-secret-0123456789abcdef"

    static func providers(_ fake: FakeProvider) -> String {
        """
        providers:
          openai: { kind: openai, key_env: OPENAI_API_KEY, base_url: \(fake.baseURL)/v1 }
        cloud_models:
          gpt-4.1-mini: { provider: openai, id: gpt-4-1106-preview, input: 10, output: 30 }
          gpt-3.5-turbo: { provider: openai, id: gpt-3.5-turbo-0125, input: 0.5, output: 1.5 }
        """
    }

    static func node(_ root: TemporaryDirectory, id: String, secret: String, _ sections: String) throws -> GuardianProcess {
        let config = root.path + "/\(id).yaml"
        try """
            metrics:
              interval: 1h
            ollama: null
            \(sections)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try GuardianProcess(
            nodeID: id, root: root.path, arguments: ["--config", config],
            environment: ["OPENAI_API_KEY": openAIKey, "LLM_PROXY_SECRET": secret, "DAGI_KEY_ATLAS": RouterTests.key]
        )
    }

    /// USD for `usage` at per-million `input` and `output` prices.
    static func cost(_ usage: JSONValue?, input: Double, output: Double) -> Double {
        (Double(usage?["prompt_tokens"]?.intValue ?? -1) * input + Double(usage?["completion_tokens"]?.intValue ?? -1) * output) / 1_000_000
    }

    static func keys(_ value: JSONValue?) -> Set<String> {
        guard case .object(let object)? = value else { return [] }
        return Set(object.keys)
    }

    @Test func theSeedDocumentsCallsAreAnsweredInTheirShapesAndLedger() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: Self.openAIKey)
        defer { fake.stop() }
        // The provider service's example calls carry no credentials: open_localhost lets this
        // machine make them, as on /v1. The LLM proxy's `dagi-local-8b` is SmolLM2 here.
        let node = try Self.node(root, id: "c1", secret: Self.seedSecret, """
            router:
              open_localhost: true
              aliases: { dagi-local-8b: [smollm2] }
            compat: { llm_proxy: true, provider_service: true, auto_agents: true }
            \(Self.providers(fake))
            \(try RealModels.swapperSection())
            """)
        try await withGuardians([node]) {
            try await node.start()
            // Unauthenticated calls from this machine are agent `local`'s (as on /v1); the
            // provider service's example asks for a cloud model, which its operator allows.
            try await MeshHarness.putAgent(node, "local", ["allow_cloud": true])
            let (code, out, err) = try await Python.run(RealModels.repository + "/scripts/fixtures/compat_seed_calls.py", [node.baseURL])
            #expect(code == 0, "\(err)")
            let seen = try JSONValue.parse(Array(out.utf8))

            // POST /internal/llm/proxy: {content, usage, provider, model_resolved, latency_ms}.
            let proxied = seen["proxy_openai"]?["body"]
            #expect(seen["proxy_openai"]?["status"] == 200, "\(out)")
            #expect(Self.keys(proxied) == ["content", "usage", "provider", "model_resolved", "latency_ms"], "\(proxied?.jsonString ?? "")")
            #expect(proxied?["content"] == "echo: Say hello!")
            #expect(proxied?["provider"] == "openai")
            #expect(proxied?["model_resolved"] == "gpt-4-1106-preview", "the provider's own name for gpt-4.1-mini")
            let usage = proxied?["usage"]
            #expect(Self.keys(usage) == ["prompt_tokens", "completion_tokens", "total_tokens"])
            #expect(usage?["total_tokens"]?.intValue == (usage?["prompt_tokens"]?.intValue ?? 0) + (usage?["completion_tokens"]?.intValue ?? 0))
            #expect((proxied?["latency_ms"]?.doubleValue ?? -1) >= 0)

            let local = seen["proxy_local"]?["body"]
            #expect(seen["proxy_local"]?["status"] == 200, "\(out)")
            #expect(local?["provider"] == "c1", "served by this node's llama-server")
            #expect(local?["model_resolved"] == "smollm2")
            let localContent = local?["content"]?.stringValue ?? ""
            #expect(!localContent.isEmpty)
            #expect((local?["usage"]?["completion_tokens"]?.intValue ?? 0) > 0)

            let runtime = seen["httpx"]
            #expect(runtime?["content"] == "echo: Hello from the runtime", "\(runtime?.jsonString ?? "")")

            // POST /api/v1/completion: {content, model, provider, usage, cost_estimate, response_time_ms, timestamp}.
            let completion = seen["service_completion"]?["body"]
            #expect(seen["service_completion"]?["status"] == 200, "\(out)")
            #expect(
                Self.keys(completion) == ["content", "model", "provider", "usage", "cost_estimate", "response_time_ms", "timestamp"],
                "\(completion?.jsonString ?? "")"
            )
            #expect(completion?["model"] == "gpt-3.5-turbo")
            #expect(completion?["provider"] == "openai")
            let estimate = completion?["cost_estimate"]?.doubleValue ?? -1
            #expect(abs(estimate - Self.cost(completion?["usage"], input: 0.5, output: 1.5)) < 1e-12)
            #expect(abs((completion?["timestamp"]?.doubleValue ?? 0) - Date().timeIntervalSince1970) < 600)

            #expect(seen["service_providers"]?["body"]?["providers"]?["openai"]?["status"] == "healthy", "\(out)")
            #expect(seen["proxy_usage"]?["status"] == 200)
            let usageKeys = Self.keys(seen["proxy_usage"]?["body"])
            #expect(usageKeys.isSuperset(of: ["total_requests", "total_tokens", "avg_latency_ms", "success_rate"]))
            #expect(seen["service_metrics"]?["status"] == 200)
            #expect(seen["service_metrics"]?["body"]?["total_requests"]?.intValue != nil, "\(out)")

            // The ledger: agent:test is agent `test`, created on first use; its two calls (curl
            // and httpx) are its rows, and the APIs' figures are the ledger's.
            let store = try node.store()
            var rows: [UsageRecord] = []
            try await poll(timeout: .seconds(20), "agent test's two calls in the ledger") {
                rows = try await store.usage(UsageFilter(agent: "test"))
                return rows.count == 2
            }
            #expect(try await store.agent(named: "test") != nil)
            #expect(Set(rows.map(\.model)) == ["gpt-4.1-mini"])
            let reported = try await HTTP.get(node.baseURL + "/internal/llm/usage?agent_id=agent:test", headers: [("x-internal-secret", Self.seedSecret)]).json()
            #expect(reported["total_requests"] == 2)
            #expect(reported["total_tokens"]?.intValue == rows.map { $0.promptTokens + $0.completionTokens }.reduce(0, +))
            #expect(reported["success_rate"]?.doubleValue == 1)
            let latency = Double(rows.map(\.latencyMs).reduce(0, +)) / 2
            #expect(abs((reported["avg_latency_ms"]?.doubleValue ?? -1) - latency) < 0.1, "\(reported.jsonString)")
            let ledgerCost = rows.map(\.costUSD).reduce(0, +)
            #expect(abs(ledgerCost - rows.map { Double($0.promptTokens) * 10 + Double($0.completionTokens) * 30 }.reduce(0, +) / 1_000_000) < 1e-12)
            #expect(rows.contains { $0.promptTokens == usage?["prompt_tokens"]?.intValue && $0.completionTokens == usage?["completion_tokens"]?.intValue })
            let costs = try await HTTP.get(node.baseURL + "/api/v1/analytics/costs").json()
            #expect(abs((costs["cost_by_agent"]?["test"]?.doubleValue ?? -1) - ledgerCost) < 1e-12, "\(costs.jsonString)")
            // The provider service's unauthenticated call is agent `local`'s, priced as its answer said;
            // the proxy's call that named no agent is the default agent's.
            var serviceRows: [UsageRecord] = []
            try await poll(timeout: .seconds(20), "the provider service's call in the ledger") {
                serviceRows = try await store.usage(UsageFilter(agent: "local", model: "gpt-3.5-turbo"))
                return serviceRows.count == 1
            }
            #expect(abs(serviceRows[0].costUSD - estimate) < 1e-12)
            try await poll(timeout: .seconds(20), "the proxy's local call under the default agent") {
                try await store.usage(UsageFilter(agent: "compat", model: "dagi-local-8b")).count == 1
            }
            // open_localhost never opens the LLM proxy: it always wanted its secret.
            let bare = try await HTTP.post(node.baseURL + "/internal/llm/proxy", json: ["model": "gpt-4.1-mini", "messages": [["role": "user", "content": "hi"]]])
            #expect(bare.status == 401, "\(bare.text)")
        }
    }

    @Test func secretsAndSwitches() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: Self.openAIKey)
        defer { fake.stop() }
        let on = try Self.node(root, id: "on", secret: Self.longSecret, """
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true }
            compat: { llm_proxy: true, provider_service: true }
            \(Self.providers(fake))
            """)
        let off = try Self.node(root, id: "off", secret: Self.longSecret, Self.providers(fake))
        try await withGuardians([on, off]) {
            try await on.start()
            try await off.start()
            let chat: JSONValue = ["model": "gpt-4.1-mini", "messages": [["role": "user", "content": "hi"]], "metadata": ["agent_id": "agent:atlas"]]
            let proxy = on.baseURL + "/internal/llm/proxy"

            for secret in ["wrong-secret", nil] as [String?] {
                let reply = try await HTTP.post(proxy, json: chat, headers: secret.map { [("x-internal-secret", $0)] } ?? [])
                #expect(reply.status == 401, "\(reply.text)")
                let body = try reply.json()
                #expect(body["detail"]?.stringValue?.contains("X-Internal-Secret") == true, "the proxy's {detail} shape: \(reply.text)")
                #expect(body["request_id"]?.stringValue == reply.headers.first(name: "x-request-id"))
                #expect(body["error"] == nil)
            }
            let models = try await HTTP.get(on.baseURL + "/internal/llm/models")
            #expect(models.status == 401)

            let served = try await HTTP.post(proxy, json: chat, headers: [("x-internal-secret", Self.longSecret)])
            #expect(served.status == 200, "\(served.text)")
            #expect(try served.json()["content"] == "echo: hi")
            // An agent's key works too, without the secret: its own agent, whatever metadata says.
            let impostor: JSONValue = ["model": "gpt-4.1-mini", "messages": chat["messages"]!, "metadata": ["agent_id": "agent:someone-else"]]
            let keyed = try await HTTP.post(proxy, json: impostor, headers: RouterTests.auth)
            #expect(keyed.status == 200, "\(keyed.text)")
            try await poll(timeout: .seconds(20), "both calls in the ledger under atlas") {
                try await on.store().usage(UsageFilter(agent: "atlas")).count == 2
            }
            #expect(try await on.store().usage(UsageFilter(agent: "someone-else")).isEmpty)
            // And reads its own usage only.
            let others = try await HTTP.get(on.baseURL + "/internal/llm/usage?agent_id=agent:someone-else", headers: RouterTests.auth)
            #expect(others.status == 403, "\(others.text)")
            #expect(try await HTTP.get(on.baseURL + "/internal/llm/usage?agent_id=agent:atlas", headers: RouterTests.auth).json()["total_requests"] == 2)

            // auto_agents is off: an agent the mesh does not know is refused, in the proxy's shape.
            let stranger: JSONValue = ["model": "gpt-4.1-mini", "messages": chat["messages"]!, "metadata": ["agent_id": "agent:stranger"]]
            let refused = try await HTTP.post(proxy, json: stranger, headers: [("x-internal-secret", Self.longSecret)])
            #expect(refused.status == 403)
            #expect(try refused.json()["code"] == "unknown_agent", "\(refused.text)")
            #expect(try await on.store().agent(named: "stranger") == nil)

            // The provider service's errors: {error, error_code, timestamp, request_id, context}.
            let service = try await HTTP.post(on.baseURL + "/api/v1/completion", json: ["model": "gpt-3.5-turbo", "messages": [["role": "user", "content": "hi"]]])
            #expect(service.status == 401)
            let error = try service.json()
            #expect(Self.keys(error) == ["error", "error_code", "timestamp", "request_id", "context"], "\(service.text)")
            #expect(error["error_code"] == "MISSING_INTERNAL_SECRET")
            let unknown = try await HTTP.post(
                on.baseURL + "/api/v1/completion", json: ["model": "no-such-model", "messages": [["role": "user", "content": "hi"]]],
                headers: [("x-internal-secret", Self.longSecret), ("x-agent-id", "agent:atlas")]
            )
            #expect(unknown.status == 404)
            #expect(try unknown.json()["error_code"] == "MODEL_NOT_FOUND", "\(unknown.text)")
            let malformed = try await HTTP.send(
                "POST", on.baseURL + "/api/v1/completion", body: Array(#"{"messages": "not a list", "metadata": 3}"#.utf8),
                headers: [("content-type", "application/json"), ("x-internal-secret", Self.longSecret)]
            )
            #expect(malformed.status == 400, "\(malformed.text)")
            #expect(try malformed.json()["error_code"] == "INVALID_TYPE")

            // Behind an admitted call, a pipelined one with a forged secret (or a forged hop header
            // instead of one) is refused, its body never read as an agent's.
            let good = #"{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"agent_id":"agent:atlas"}}"#
            let admitted = RawHTTP.post("/internal/llm/proxy", good, key: nil, extraHeaders: "x-internal-secret: \(Self.longSecret)\r\n")
            for forged in ["x-internal-secret: \(Self.longSecret)x\r\n", "x-dagi-hop: 1\r\nx-dagi-agent: atlas\r\nx-dagi-model: gpt-4.1-mini\r\n"] {
                let second = RawHTTP.post("/internal/llm/proxy", good, key: nil, extraHeaders: forged)
                let answer = try await RawHTTP.exchange(port: on.port, send: admitted + second, until: { $0.components(separatedBy: "HTTP/1.1 ").count >= 3 })
                #expect(answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) } == ["200", "401"], "\(answer)")
            }

            // Off by default: neither API's paths exist.
            for path in ["/internal/llm/proxy", "/api/v1/completion", "/api/v1/providers/openai/completion"] {
                let reply = try await HTTP.post(off.baseURL + path, json: chat, headers: [("x-internal-secret", Self.longSecret)])
                #expect(reply.status == 404, "\(path): \(reply.status) \(reply.text)")
            }
            for path in ["/internal/llm/models", "/internal/llm/usage?agent_id=agent:atlas", "/api/v1/models", "/api/v1/analytics/costs"] {
                #expect(try await HTTP.get(off.baseURL + path, headers: [("x-internal-secret", Self.longSecret)]).status == 404, "\(path)")
            }
            #expect(try await fake.stats()["total"]?.intValue == 4, "only the admitted calls reached the provider")
        }
    }

    /// Agents a secret holder names are created once, with the configured policy; an existing
    /// agent is never overwritten, a deleted one never brought back, and their number is bounded.
    @Test func autoAgentsAreCreatedOnceNeverOverwrittenNorRevived() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: Self.openAIKey)
        defer { fake.stop() }
        let node = try Self.node(root, id: "aa", secret: Self.longSecret, """
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS }
            compat: { llm_proxy: true, auto_agents: true, max_auto_agents: 3 }
            \(Self.providers(fake))
            """)
        try await withGuardians([node]) {
            try await node.start()
            let store = try node.store()
            func call(_ agent: String) async throws -> HTTP.Reply {
                try await HTTP.post(
                    node.baseURL + "/internal/llm/proxy",
                    json: ["model": "gpt-4.1-mini", "messages": [["role": "user", "content": "hi"]], "metadata": ["agent_id": .string("agent:" + agent)]],
                    headers: [("x-internal-secret", Self.longSecret)]
                )
            }
            #expect(try await call("one").status == 200)
            let created = try #require(try await store.agent(named: "one"))
            #expect(created.allowCloud && created.rpm == 10, "compat.auto_agent_allow_cloud and auto_agent_rpm's defaults")
            // Its operator's policy stays.
            try await MeshHarness.putAgent(node, "one", ["rpm": 99])
            #expect(try await call("one").status == 200)
            #expect(try await store.agent(named: "one")?.rpm == 99)
            // Deleted, it stays deleted.
            let deleted = try await HTTP.send("DELETE", node.baseURL + "/v1/agents/one")
            #expect(deleted.status == 200 || deleted.status == 204, "\(deleted.text)")
            // (The router's catalog learns of the deletion from the store's notification, at once
            // but not synchronously: until then the agent still exists for it.)
            var revived = try await call("one")
            try await poll(timeout: .seconds(10), "the deleted agent to be refused") {
                revived = try await call("one")
                return revived.status != 200
            }
            #expect(revived.status == 403)
            #expect(try revived.json()["code"] == "agent_deleted", "\(revived.text)")
            #expect(try await store.agent(named: "one") == nil)
            // Three live agents at most: atlas, two, three; four is refused.
            #expect(try await call("two").status == 200)
            #expect(try await call("three").status == 200)
            let fourth = try await call("four")
            #expect(fourth.status == 403)
            #expect(try fourth.json()["code"] == "agent_limit_reached", "\(fourth.text)")
            #expect(try await store.agent(named: "four") == nil)
        }
    }

    /// One rate limit, whichever API the agent's calls come through.
    @Test func compatCallsShareTheAgentsRateLimitWithV1() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: Self.openAIKey)
        defer { fake.stop() }
        let node = try Self.node(root, id: "rl", secret: Self.longSecret, """
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true, rpm: 10 }
            compat: { llm_proxy: true, provider_service: true }
            \(Self.providers(fake))
            """)
        try await withGuardians([node]) {
            try await node.start()
            let messages: JSONValue = [["role": "user", "content": "hi"]]
            let secret = [("x-internal-secret", Self.longSecret)]
            for _ in 0..<4 {
                let reply = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: ["model": "gpt-3.5-turbo", "messages": messages], headers: RouterTests.auth)
                #expect(reply.status == 200, "\(reply.text)")
            }
            for _ in 0..<6 {
                let reply = try await HTTP.post(
                    node.baseURL + "/internal/llm/proxy", json: ["model": "gpt-3.5-turbo", "messages": messages, "metadata": ["agent_id": "agent:atlas"]], headers: secret
                )
                #expect(reply.status == 200, "\(reply.text)")
            }
            let eleventh = try await HTTP.post(
                node.baseURL + "/api/v1/completion", json: ["model": "gpt-3.5-turbo", "messages": messages], headers: secret + [("x-agent-id", "agent:atlas")]
            )
            #expect(eleventh.status == 429, "\(eleventh.text)")
            #expect(Int(eleventh.headers.first(name: "retry-after") ?? "") ?? 0 >= 1)
            #expect(try eleventh.json()["error_code"] == "RATE_LIMIT_EXCEEDED")
            let twelfth = try await HTTP.post(
                node.baseURL + "/internal/llm/proxy", json: ["model": "gpt-3.5-turbo", "messages": messages, "metadata": ["agent_id": "agent:atlas"]], headers: secret
            )
            #expect(twelfth.status == 429)
            #expect(try twelfth.json()["code"] == "rate_limit_exceeded", "\(twelfth.text)")
            #expect(try await fake.stats()["total"]?.intValue == 10)
        }
    }

    /// A compatibility request for a model only a peer has: forwarded as the OpenAI request it
    /// stands for, answered in the compatibility API's shape here, whole and streamed.
    @Test func aPeersModelServesCompatRequests() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(
            root: root, ids: ["ca", "cb"], links: ["ca": ["cb"], "cb": ["ca"]],
            extra: ["ca": "ollama: null\ncompat: { llm_proxy: true, provider_service: true, auto_agents: true }", "cb": "ollama: null\n" + RouterTests.mockSwapper(["ok"])],
            environment: ["LLM_PROXY_SECRET": Self.longSecret]
        )
        let a = nodes["ca"]!, b = nodes["cb"]!
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            let secret = [("x-internal-secret", Self.longSecret)]
            try await poll(timeout: .seconds(30), "ca to list cb's model") {
                let models = try await HTTP.get(a.baseURL + "/internal/llm/models", headers: secret).json()
                return models["models"]?.arrayValue?.contains { $0["name"] == "mock-ok" && $0["provider"] == "cb" } == true
            }
            let body: JSONValue = ["model": "mock-ok", "messages": [["role": "user", "content": "hi"]], "metadata": ["agent_id": "agent:remote"]]
            let whole = try await HTTP.post(a.baseURL + "/internal/llm/proxy", json: body, headers: secret)
            #expect(whole.status == 200, "\(whole.text)")
            #expect(whole.headers.first(name: "x-dagi-route") == "remote:cb")
            let answer = try whole.json()
            #expect(answer["provider"] == "cb" && answer["model_resolved"] == "mock-ok", "\(whole.text)")
            let content = answer["content"]?.stringValue ?? ""
            #expect(!content.isEmpty)

            let streamed = try await HTTP.post(
                a.baseURL + "/api/v1/completion", json: ["model": "mock-ok", "messages": [["role": "user", "content": "hi"]], "stream": true],
                headers: secret + [("x-agent-id", "agent:remote")]
            )
            #expect(streamed.status == 200)
            #expect(streamed.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            let lines = streamed.text.split(separator: "\n").filter { $0.hasPrefix("data: ") }
            #expect(lines.last == "data: [DONE]", "\(streamed.text)")
            let chunks = try lines.dropLast().map { try JSONValue.parse(Array($0.dropFirst(6).utf8)) }
            #expect(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" && $0["model"] == "mock-ok" })
            let streamedText = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(!streamedText.isEmpty)

            try await poll(timeout: .seconds(20), "both calls in ca's ledger under agent remote") {
                try await a.store().usage(UsageFilter(agent: "remote")).count == 2
            }
        }
    }
}
