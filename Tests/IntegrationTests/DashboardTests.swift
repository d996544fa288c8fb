import Foundation
import MeshCore
import Testing

/// The dashboard in a real browser (Debian's headless Chromium, driven over the DevTools
/// protocol by scripts/fixtures/ui_check.py): a two-node mesh with traffic renders both nodes,
/// the model, the agent, non-empty charts and the live log, and the page asks nothing of any
/// host but the node. Screenshots land in .build/test-artifacts/.
@Suite(.serialized) struct DashboardTests {
    /// scripts/test installs Debian's chromium; where the distribution has none the test shows as skipped.
    static let hasChromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].contains(where: FileManager.default.isExecutableFile)

    @Test(.enabled(if: hasChromium, "needs Debian's chromium")) func aTwoNodeMeshWithTrafficRendersInChromium() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(
            root: root, ids: ["front", "back"], links: ["front": ["back"], "back": ["front"]], metricsInterval: "1s",
            extra: [
                "front": "agents:\n  - { name: scout, key_env: DAGI_KEY_SCOUT, budget_daily_usd: 5 }\n  - { name: late, key_env: DAGI_KEY_LATE }",
                "back": "agents:\n  - { name: scout, key_env: DAGI_KEY_SCOUT }\n  - { name: late, key_env: DAGI_KEY_LATE }",
            ]
        )
        let front = nodes["front"]!, back = nodes["back"]!
        let key = "sk-scout-dashboard-test-0123456789abcdef0123", lateKey = "sk-late-dashboard-test-0123456789abcdef01234"
        for node in [front, back] {
            node.environment["DAGI_KEY_SCOUT"] = key
            node.environment["DAGI_KEY_LATE"] = lateKey
            node.environment["DAGI_LLAMA_SERVER"] = try RealModels.llamaServer()
        }
        try FileManager.default.createDirectory(atPath: back.dataDirectory + "/models", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: back.dataDirectory + "/models/smollm2.gguf", withDestinationPath: try RealModels.smollm2())
        try await withGuardians([front, back]) {
            try await back.start()
            try await front.start()
            try await poll(timeout: .seconds(30), "front to route smollm2 to back") {
                let models = try await HTTP.get(front.baseURL + "/v1/models", headers: [("authorization", "Bearer \(key)")]).json()
                return models["data"]?.arrayValue?.contains { $0["id"] == "smollm2" } == true
            }
            for _ in 0..<3 {
                let reply = try await HTTP.post(front.baseURL + "/v1/chat/completions", json: [
                    "model": "smollm2", "max_tokens": 6, "messages": [["role": "user", "content": "hi"]],
                ], headers: [("authorization", "Bearer \(key)")])
                #expect(reply.status == 200, "\(reply.text)")
            }
            try await poll(timeout: .seconds(20), "front's ledger to hold the requests") { try await front.store().usage().count >= 3 }

            let artifacts = RealModels.repository + "/.build/test-artifacts"
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            // Once the page is up, requests of an agent that had made none: they must reach its
            // live log over SSE.
            let request = "curl -sf -o /dev/null -H 'authorization: Bearer \(lateKey)' \(front.baseURL)/v1/chat/completions -d '{\"model\":\"smollm2\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"hey\"}]}'"
            let (code, out, err) = try await Binaries.runPath(
                try RealModels.python(),
                [RealModels.repository + "/scripts/fixtures/ui_check.py", front.baseURL + "/ui", artifacts + "/dashboard-two-nodes", "\(request) && \(request)", "late"],
                timeout: .seconds(120)
            )
            #expect(code == 0, "\(err)")
            let page = try JSONValue.parse(Array(out.utf8))
            #expect(page["ready"] == true, "\(out)")
            print("dashboard: ready after \(page["ready_after_s"]?.doubleValue ?? -1) s, live row after \(page["live_after_s"]?.doubleValue ?? -1) s")
            #expect(Set(page["nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []) == ["front", "back"], "\(out)")
            #expect(page["node_states"]?.arrayValue?.allSatisfy { $0 == "online" } == true, "\(out)")
            #expect(page["models"]?.arrayValue?.contains("smollm2") == true, "\(out)")
            #expect(page["agents"]?.arrayValue?.contains("scout") == true, "\(out)")
            #expect((page["charts"]?["tokens-agent"]?.intValue ?? 0) > 0, "the tokens chart is empty: \(out)")
            #expect((page["sparklines"]?.arrayValue ?? []).contains { ($0.intValue ?? 0) >= 2 }, "no sparkline drew a line: \(out)")
            #expect((page["log_rows"]?.intValue ?? 0) >= 3, "\(out)")
            #expect(page["trigger_status"] == 0, "\(out)")
            #expect(page["live_agents"]?.arrayValue?.contains("late") == true, "the requests made while the page was open did not arrive over its event stream: \(out)")
            // Nothing off the node: every request went to front itself.
            let requested = page["requested"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(!requested.isEmpty && requested.allSatisfy { $0.hasPrefix(front.baseURL + "/") }, "\(requested)")
            #expect(FileManager.default.fileExists(atPath: artifacts + "/dashboard-two-nodes-page.png"))

            // A browser asking for / is sent to the page; the page is administration, and a page
            // of another site reaching the node through this machine (its Origin) is not.
            // (The client follows the redirect.)
            let redirect = try await HTTP.get(front.baseURL + "/", headers: [("accept", "text/html")])
            #expect(redirect.status == 200 && redirect.text.contains("<title>DAGI Mesh</title>"))
            #expect(try await HTTP.get(front.baseURL + "/").status == 404)
            let ui = try await HTTP.get(front.baseURL + "/ui")
            #expect(ui.headers.first(name: "content-security-policy")?.contains("default-src 'self'") == true)
            let rebound = try await HTTP.get(front.baseURL + "/v1/status", headers: [("host", "attacker.example:80")])
            #expect(rebound.status == 401, "a DNS-rebound page was trusted as this machine: \(rebound.status)")
            let crossSite = try await HTTP.get(front.baseURL + "/ui", headers: [("origin", "https://attacker.example")])
            #expect(crossSite.status == 403 || crossSite.status == 401, "\(crossSite.status)")
        }
    }
}
