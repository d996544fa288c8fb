import Foundation
import MeshCore
import MeshHTTP
import Testing
@testable import NodeGuardian

@Suite struct NodeConfigTests {
    /// The config shape in the foundation issue must keep parsing.
    @Test func parsesTheDocumentedShape() throws {
        let yaml = """
            node:
              id: node-1                  # default: hostname
              listen: 127.0.0.1:7007
              data_dir: /var/lib/dagi     # default: $DAGI_HOME or the user data dir
            ollama:
              url: http://127.0.0.1:11434 # optional
            metrics:
              interval: 10s
              raw_retention: 24h
              rollup_retention: 30d
            agents:
              - name: atlas
                tier: pro
                assign: [node-1]
                allow_cloud: true
                stale_after: 5m
            """
        let config = try YAMLConfigDecoder.decode(NodeConfig.self, from: yaml, file: "node.yaml")
        #expect(config.node.id == "node-1")
        #expect(config.node.listen == HostPort(host: "127.0.0.1", port: 7007))
        #expect(config.node.dataDir == "/var/lib/dagi")
        #expect(config.ollama?.url.base == "http://127.0.0.1:11434")
        #expect(config.metrics.interval == .seconds(10))
        #expect(config.metrics.rollupRetention == .days(30))
        #expect(config.agents.first?.assign == ["node-1"])
        #expect(config.agents.first?.staleAfter == .minutes(5))
    }

    @Test func exampleConfigsParse() throws {
        let nodes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../nodes").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: nodes.path).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 2)
        for file in files {
            _ = try NodeConfig.load(path: nodes.appendingPathComponent(file).path)
        }
    }

    @Test func embeddedDefaults() throws {
        let config = try GuardianOptions().resolvedConfig()
        #expect(config.node.listen == HostPort(host: "127.0.0.1", port: 7007))
        #expect(config.metrics.interval == .seconds(10))
        #expect(config.metrics.rawRetention == .hours(24))
        #expect(config.ollama?.url.base == "http://127.0.0.1:11434")
        let off = try YAMLConfigDecoder.decode(NodeConfig.self, from: "ollama: null\n", file: "x")
        #expect(off.ollama == nil)
    }

    @Test func flagsOverrideTheFile() throws {
        let path = NSTemporaryDirectory() + "dagi-flags-\(UUID().uuidString).yaml"
        try "node:\n  id: from-file\n  listen: 127.0.0.1:1234\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try GuardianOptions(
            configPath: path, dataDirectory: "/tmp/x", listen: HostPort(host: "127.0.0.1", port: 9), nodeID: "from-flag"
        ).resolvedConfig()
        #expect(config.node.id == "from-flag")
        #expect(config.node.listen.port == 9)
        #expect(config.node.dataDir == "/tmp/x")
    }

    @Test func dataDirectoryPrecedence() {
        #expect(DataDirectory.resolve("/flag", environment: ["DAGI_HOME": "/env", "HOME": "/home/u"]) == "/flag")
        #expect(DataDirectory.resolve(nil, environment: ["DAGI_HOME": "/env", "HOME": "/home/u"]) == "/env")
        #if os(Linux)
        #expect(DataDirectory.resolve(nil, environment: ["HOME": "/home/u"]) == "/home/u/.local/share/dagi")
        #expect(DataDirectory.resolve(nil, environment: ["HOME": "/home/u", "XDG_DATA_HOME": "/xdg"]) == "/xdg/dagi")
        #endif
        #expect(DataDirectory.resolve("~/d", environment: ["HOME": "/home/u"]) == "/home/u/d")
    }

    @Test func rejectsDuplicateAgentsAndBadIDs() {
        #expect(throws: ConfigError.self) {
            try YAMLConfigDecoder.decode(NodeConfig.self, from: "agents:\n  - name: a\n  - name: a\n", file: "x")
        }
        #expect(throws: ConfigError.self) {
            try YAMLConfigDecoder.decode(NodeConfig.self, from: "node:\n  id: \"bad id\"\n", file: "x")
        }
    }

    /// The pooling keys: a margin and slots out of range (negative, huge, not a number) stop
    /// the node at start, naming the key.
    @Test func poolingKeysAreBounded() throws {
        for router in ["spill_margin: -0.1", "spill_margin: 11", "spill_margin: .nan", "spill_margin: .inf", "slots: { m: 0 }", "slots: { m: -3 }",
                       "slots: { m: 99999999999999999999 }", "slots: { m: many }"] {
            #expect(throws: ConfigError.self, "\(router)") { try YAMLConfigDecoder.decode(NodeConfig.self, from: "router:\n  \(router)\n", file: "x") }
        }
        let config = try YAMLConfigDecoder.decode(NodeConfig.self, from: "router:\n  spill_margin: 0\n  slots: { \"qwen2.5:0.5b\": 4 }\n", file: "x")
        #expect(config.router.spillMargin == 0 && config.router.slots == ["qwen2.5:0.5b": 4])
        #expect(try YAMLConfigDecoder.decode(NodeConfig.self, from: "", file: "x").router.spillMargin == 0.2)
    }
}
