import Foundation
import MeshCore
import MeshStore
import Testing

/// An agent's requests and tokens per minute, counted across the mesh: the 11th request at
/// 10 rpm is refused whichever nodes the ten went through, with OpenAI's headers.
@Suite(.serialized) struct RateLimitTests {
    static func header(_ reply: HTTP.Reply, _ name: String) -> String? { reply.headers.first(name: name) }

    @Test func tenRequestsOverTwoNodesUseTheMinute() async throws {
        let root = TemporaryDirectory()
        let agent = """
            ollama: null
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS, rpm: 10 }
            \(RouterTests.mockSwapper(["ok"]))
            """
        let nodes = try MeshHarness.make(
            root: root, ids: ["ra", "rb"], links: ["ra": ["rb"], "rb": ["ra"]], extra: ["ra": agent, "rb": agent],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key]
        )
        let a = nodes["ra"]!, b = nodes["rb"]!
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            var remaining: [String] = []
            for node in [a, b, a, b, a, b, a, b, a, b] {
                let reply = try await RouterTests.chat(node, "mock-ok")
                #expect(reply.status == 200, "\(reply.text)")
                #expect(Self.header(reply, "x-ratelimit-limit-requests") == "10")
                remaining.append(Self.header(reply, "x-ratelimit-remaining-requests") ?? "-")
                #expect(Self.header(reply, "x-ratelimit-reset-requests")?.hasSuffix("s") == true)
            }
            // The first node counted its own at once.
            #expect(remaining.first == "9", "\(remaining)")
            // Once each node has the other's ledger rows, the minute is used up on both.
            var early = 0
            for node in [a, b] {
                try await poll(timeout: .seconds(30), "\(node.nodeID) to hold all ten rows") {
                    try await node.store().usage(UsageFilter(agent: "atlas")).count == 10
                }
                // (The limiter re-reads the rows once the store says they arrived, within a second or
                // so; an 11th request served meanwhile would be a limit that is not mesh-wide.)
                var refused = try await RouterTests.chat(node, "mock-ok")
                var servedEarly = refused.status == 200 ? 1 : 0
                try await poll(timeout: .seconds(10), "\(node.nodeID) to refuse the 11th") {
                    if refused.status == 429 { return true }
                    refused = try await RouterTests.chat(node, "mock-ok")
                    if refused.status == 200 { servedEarly += 1 }
                    return refused.status == 429
                }
                // At most one request may race the limiter's re-read of the rows it was just sent
                // (a per-node limit would have served five more).
                #expect(servedEarly <= 1, "\(node.nodeID) served \(servedEarly) past the limit")
                early += servedEarly
                let error = try refused.json()["error"]
                #expect(error?["code"] == "rate_limit_exceeded", "\(refused.text)")
                #expect(error?["message"]?.stringValue?.contains("10 requests per minute across the mesh") == true)
                let retry = Int(Self.header(refused, "retry-after") ?? "") ?? 0
                #expect((1...60).contains(retry), "\(refused.headers)")
                #expect(Self.header(refused, "x-ratelimit-remaining-requests") == "0")
            }
            // Ten admitted over both nodes (and what raced a re-read), however many the polls above tried.
            try await poll(timeout: .seconds(20), "the served requests in A's ledger") {
                try await a.store().usage(UsageFilter(agent: "atlas")).filter { $0.status == 200 }.count == 10 + early
            }
        }
    }

    @Test func tokensPerMinuteStopAnAgentOnceUsed() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let config = root.path + "/t.yaml"
        try """
            metrics: { interval: 1h }
            ollama: null
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true, tpm: 25 }
            \(CompatTests.providers(fake))
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let node = try GuardianProcess(
            nodeID: "tpm", root: root.path, arguments: ["--config", config],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "OPENAI_API_KEY": CompatTests.openAIKey]
        )
        try await withGuardians([node]) {
            try await node.start()
            // The fake's usage: 10 + the prompt's words in, the reply's words out: 15 a request here.
            let first = try await RouterTests.chat(node, "gpt-3.5-turbo")
            #expect(first.status == 200, "\(first.text)")
            #expect(Self.header(first, "x-ratelimit-limit-tokens") == "25")
            #expect(Self.header(first, "x-ratelimit-remaining-tokens") == "25", "nothing used before this request")
            let used = (try first.json()["usage"]?["total_tokens"]?.intValue) ?? 0
            let second = try await RouterTests.chat(node, "gpt-3.5-turbo")
            #expect(second.status == 200)
            #expect(Self.header(second, "x-ratelimit-remaining-tokens") == String(25 - used), "\(second.headers)")
            let third = try await RouterTests.chat(node, "gpt-3.5-turbo")
            #expect(third.status == 429, "\(third.text)")
            #expect(try third.json()["error"]?["message"]?.stringValue?.contains("25 tokens per minute") == true, "\(third.text)")
            #expect(try await fake.stats()["total"] == 2)
            // Limits and budgets from the API are range-checked before they replicate.
            for (key, value) in [("tpm", JSONValue.int(-1)), ("tpm", .int(10_000_000_000_000)), ("rpm", .int(0)), ("rpm", .number(1e300)),
                                 ("budget_daily_usd", .number(-5)), ("budget_monthly_usd", .number(1e300)), ("budget_daily_usd", .number(1e-300)),
                                 ("on_exceed", "explode"), ("on_exceed", .int(1))] {
                let reply = try await HTTP.send(
                    "PUT", node.baseURL + "/v1/agents/atlas/policy", body: JSONValue.object([key: value]).serialized(), headers: [("content-type", "application/json")]
                )
                #expect(reply.status == 400, "\(key) = \(value.jsonString): \(reply.text)")
            }
            #expect(try await node.store().agent(named: "atlas")?.tpm == 25, "nothing changed")
        }
    }
}
