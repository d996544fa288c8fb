import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Testing

/// The real `node-guardian` binary, end to end on one node.
@Suite(.serialized) struct GuardianLifecycleTests {
    @Test func startsServesReportsAndStopsCleanly() async throws {
        let root = TemporaryDirectory()
        let config = root.path + "/node.yaml"
        try """
            metrics:
              interval: 200ms
            agents:
              - name: atlas
                tier: pro
                assign: [n1]
                allow_cloud: true
                stale_after: 5m
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let guardian = try GuardianProcess(nodeID: "n1", root: root.path, arguments: ["--config", config])
        try await withGuardians([guardian]) {
            try await guardian.start()

            let node = try await HTTP.get(guardian.baseURL + "/v1/node").json()
            #expect(node["id"] == "n1")
            #expect(node["state"] == "online")
            #expect(node["api_url"]?.stringValue == guardian.baseURL)
            #expect((node["mem_total"]?.intValue ?? 0) > 0)

            let metrics = try await HTTP.get(guardian.baseURL + "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("dagi_node_memory_total_bytes"))
            #expect(metrics.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)

            // A heartbeat marks the agent active.
            let beat = try await HTTP.send("POST", guardian.baseURL + "/v1/agents/atlas/heartbeat")
            #expect(beat.status == 200)
            #expect(try beat.json()["status"] == "active")
            #expect(try await HTTP.send("POST", guardian.baseURL + "/v1/agents/nobody/heartbeat").status == 404)

            // `dagi status --json` reads the store directly, while the guardian runs.
            let (code, out, err) = try await Binaries.run("dagi", ["status", "--json", "--data-dir", guardian.dataDirectory])
            #expect(code == 0, "\(err)")
            let status = try JSONValue.parse(Array(out.utf8))
            #expect(status["local_node"] == "n1")
            let nodes = status["nodes"]?.arrayValue ?? []
            #expect(nodes.count == 1)
            #expect(nodes.first?["state"] == "online")
            let agents = status["agents"]?.arrayValue ?? []
            #expect(agents.first?["name"] == "atlas")
            #expect(agents.first?["status"] == "active")
            #expect(agents.first?["assigned"] == ["n1"])

            // Samples accumulate at the configured interval.
            try await poll(timeout: .seconds(10), "metric samples") {
                ((try? await guardian.openStore().rowCounts()["metric_sample"]) ?? 0) >= 8
            }

            let exit = try await guardian.stop()
            #expect(exit == 0, "\(guardian.logTail())")
            let store = try guardian.openStore()
            #expect(try store.integrityCheck() == "ok")
            // The clean shutdown was recorded for peers to see.
            #expect(try await store.localNode()?.state == .offline)
            let (_, text, _) = try await Binaries.run("dagi", ["status", "--data-dir", guardian.dataDirectory])
            #expect(text.contains("offline"))
            #expect(!text.contains("\u{1B}["), "no colour when stdout is not a terminal")
        }
    }

    @Test func badConfigStopsStartUpNamingKeyAndLine() async throws {
        let root = TemporaryDirectory()
        let cases: [(yaml: String, expected: [String])] = [
            ("node:\n  id: n1\n  listn: 127.0.0.1:1\n", [":3:", "node.listn", "unknown key"]),
            ("metrics:\n  interval: fast\n", [":2:", "metrics.interval", "invalid duration"]),
            ("ollama:\n  url: localhost:11434\n", [":2:", "ollama.url", "invalid URL"]),
            ("agents:\n  - name: a\n    allow_cloud: maybe\n", [":3:", "agents.0.allow_cloud", "true or false"]),
        ]
        for (index, testCase) in cases.enumerated() {
            let path = root.path + "/bad\(index).yaml"
            try testCase.yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let (code, _, err) = try await Binaries.run(
                "node-guardian", ["run", "--config", path, "--data-dir", root.path + "/data\(index)", "--listen", "127.0.0.1:0"]
            )
            #expect(code == 78, "\(testCase.yaml): \(err)")
            for fragment in testCase.expected {
                #expect(err.contains(fragment), "expected \(fragment) in: \(err)")
            }
            #expect(!FileManager.default.fileExists(atPath: root.path + "/data\(index)/mesh.sqlite"), "nothing started")
        }
    }
}
