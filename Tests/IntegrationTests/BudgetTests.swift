import Foundation
import Hummingbird
import MeshCore
import MeshStore
import Testing

/// Budgets across real nodes: spend on one node warns (one webhook alert) and shows on the
/// other; past the budget the other downgrades to the mesh or blocks per policy, free models
/// keep serving; concurrent cloud requests near the limit stay within one reservation of it.
@Suite(.serialized) struct BudgetTests {
    /// A webhook that keeps what it is sent.
    final class Webhook: Sendable {
        let server: MockServer
        let received: Locked<[JSONValue]>

        init() async throws {
            let received = Locked<[JSONValue]>([])
            server = try await MockServer { router in
                router.post("/hook") { request, _ -> Response in
                    let body = try await request.body.collect(upTo: 1 << 20)
                    if let alert = try? JSONValue.parse(body.readableBytesView) { received.withLock { $0.append(alert) } }
                    return Response(status: .ok)
                }
            }
            self.received = received
        }

        var url: String { server.baseURL + "/hook" }
        var alerts: [JSONValue] { received.value }
    }

    /// Cloud model gpt-mini at $1 per million input tokens and $10,000 per million output
    /// tokens: the fake's "Say hello." answer (12 in, 3 out) costs $0.030012.
    static func node(_ fake: FakeProvider, budget: String, models: String = "") -> String {
        """
        ollama: null
        agents:
          - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true, budget: \(budget) }
        providers:
          openai: { kind: openai, key_env: OPENAI_API_KEY, base_url: \(fake.baseURL)/v1 }
        cloud_models:
          gpt-mini: { provider: openai, id: gpt-4.1-mini, input: 1, output: 10000 }
        router:
          aliases: { smart: [gpt-mini, mock-ok] }
        alerts: { webhook_url_env: DAGI_ALERT_WEBHOOK }
        \(models)
        """
    }

    static func budget(_ node: GuardianProcess, _ scope: String = "agent:atlas", period: String = "daily") async throws -> JSONValue? {
        try await HTTP.get(node.baseURL + "/v1/budgets").json()["data"]?.arrayValue?.first { $0["scope"]?.stringValue == scope && $0["period"]?.stringValue == period }
    }

    @Test func spendOnOneNodeWarnsOnceAndTheOtherDowngradesOrBlocks() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let webhook = try await Webhook()
        let nodes = try MeshHarness.make(
            root: root, ids: ["ba", "bb"], links: ["ba": ["bb"], "bb": ["ba"]],
            extra: ["ba": Self.node(fake, budget: "{ daily: 0.25 }", models: RouterTests.mockSwapper(["ok"])), "bb": Self.node(fake, budget: "{ daily: 0.25 }")],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "OPENAI_API_KEY": CompatTests.openAIKey, "DAGI_ALERT_WEBHOOK": webhook.url]
        )
        let a = nodes["ba"]!, b = nodes["bb"]!
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            // On B: $0.030012 a request, each reserving its worst case ($0.040031 at max_tokens 4)
            // first. Seven take the agent past 80 % of $0.25 ($0.210084).
            for _ in 0..<7 {
                let reply = try await RouterTests.chat(b, "gpt-mini")
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.headers.first(name: "x-dagi-route") == "cloud:openai")
            }
            try await poll(timeout: .seconds(20), "the webhook to get the alert") { !webhook.alerts.isEmpty }
            let alert = webhook.alerts[0]
            #expect(alert["kind"] == "warning" && alert["budget"] == "agent:atlas" && alert["period"] == "daily", "\(alert.jsonString)")
            #expect(alert["text"]?.stringValue?.contains("agent:atlas has used 84.0% of its daily budget") == true, "\(alert.jsonString)")

            // A learns B's spend from its rows.
            var standing: JSONValue?
            try await poll(timeout: .seconds(30), "A's GET /v1/budgets to show the warning") {
                standing = try await Self.budget(a)
                return standing?["state"] == "warning"
            }
            #expect(abs((standing?["spent_usd"]?.doubleValue ?? 0) - 7 * 0.030012) < 1e-9, "\(standing?.jsonString ?? "")")
            #expect(standing?["limit_usd"]?.doubleValue == 0.25)
            #expect(standing?["resets_at"]?.stringValue?.hasSuffix("T00:00:00.000Z") == true)

            // `dagi status` shows it from A's replica.
            let (code, status, err) = try await Binaries.run("dagi", ["status", "--data-dir", a.dataDirectory])
            #expect(code == 0, "\(err)")
            #expect(status.contains("/$0.25 84%"), "\(status)")

            // $0.039916 left, less than a request's worst case: A leaves the cloud out.
            let downgraded = try await RouterTests.chat(a, "smart")
            #expect(downgraded.status == 200, "\(downgraded.text)")
            #expect(downgraded.headers.first(name: "x-dagi-route") == "local", "downgrade: the alias's mesh model")
            let onlyCloud = try await RouterTests.chat(a, "gpt-mini")
            #expect(onlyCloud.status == 429)
            #expect(try onlyCloud.json()["error"]?["code"] == "budget_exceeded", "\(onlyCloud.text)")

            // The policy changed on A, in force at once: block refuses the cloud-first alias...
            let put = try await HTTP.send(
                "PUT", a.baseURL + "/v1/agents/atlas/policy", body: Array(#"{"on_exceed": "block"}"#.utf8), headers: [("content-type", "application/json")]
            )
            #expect(put.status == 200, "\(put.text)")
            var blocked = try await RouterTests.chat(a, "smart")
            try await poll(timeout: .seconds(10), "the block policy in force") {
                blocked = try await RouterTests.chat(a, "smart")
                return blocked.status == 429
            }
            let error = try blocked.json()["error"]
            #expect(error?["code"] == "budget_exceeded", "\(blocked.text)")
            #expect(error?["resets_at"]?.stringValue?.hasSuffix("T00:00:00.000Z") == true, "\(blocked.text)")
            // ... and a free local model keeps serving.
            let free = try await RouterTests.chat(a, "mock-ok")
            #expect(free.status == 200, "\(free.text)")
            // ... on B too, within a sync round.
            try await poll(timeout: .seconds(10), "the block policy in force on B") {
                try await RouterTests.chat(b, "smart").status == 429
            }
            // One alert for the mesh, from the node whose spend crossed the line.
            #expect(webhook.alerts.count == 1, "\(webhook.alerts.map(\.jsonString))")
            #expect(try await fake.stats()["total"] == 7)
        }
        await webhook.server.stop()
    }

    @Test func concurrentCloudRequestsAt95PercentStayWithinOneReservation() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let config = root.path + "/c.yaml"
        try ("metrics: { interval: 1h }\n" + Self.node(fake, budget: "{ daily: 1.0 }")).write(toFile: config, atomically: true, encoding: .utf8)
        let node = try GuardianProcess(
            nodeID: "bc", root: root.path, arguments: ["--config", config],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "OPENAI_API_KEY": CompatTests.openAIKey]
        )
        try await withGuardians([node]) {
            try await node.start()
            // A request that fails gives its reservation back.
            try await fake.control(["status": 500, "count": 1])
            #expect(try await RouterTests.chat(node, "gpt-mini").status >= 500)
            #expect(try await Self.budget(node)?["reserved_usd"]?.doubleValue == 0)
            // One answer with 92 reasoning tokens costs $0.950012: 95 % of the budget.
            try await fake.control(["reasoning_tokens": 92, "count": 1])
            #expect(try await RouterTests.chat(node, "gpt-mini").status == 200)
            // 20 at once, each worth $0.010012 and reserving $0.010031 (max_tokens 1).
            let replies = try await withThrowingTaskGroup(of: HTTP.Reply.self) { group in
                for _ in 0..<20 { group.addTask { try await RouterTests.chat(node, "gpt-mini", tokens: 1) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let served = replies.filter { $0.status == 200 }.count
            #expect(served >= 1)
            #expect(replies.allSatisfy { $0.status == 200 || (try? $0.json()["error"]?["code"]) == "budget_exceeded" }, "\(replies.map(\.text))")
            #expect(served < 20, "the budget stopped some")
            var rows: [UsageRecord] = []
            try await poll(timeout: .seconds(20), "every served request in the ledger") {
                rows = try await node.store().usage(UsageFilter(agent: "atlas"))
                return rows.count == served + 1
            }
            let spent = rows.map(\.costUSD).reduce(0, +)
            #expect(spent <= 1.0 + 0.010031 + 1e-9, "spent \(spent) of $1.00")
            // Every reservation was given back: the refused, the served, and the one that failed.
            let standing = try await Self.budget(node)
            #expect(standing?["reserved_usd"]?.doubleValue == 0, "\(standing?.jsonString ?? "")")
            #expect(abs((standing?["spent_usd"]?.doubleValue ?? 0) - spent) < 1e-9)
        }
    }
}
