import Testing
@testable import MeshCore

@Suite struct YAMLConfigDecoderTests {
    struct Root: Decodable {
        var server: Server
        var items: [Item]
        enum CodingKeys: String, CodingKey { case server, items }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            server = try c.decode(.server, default: Server(timeout: .seconds(1), size: nil, verbose: false))
            items = try c.decode(.items, default: [])
        }
    }

    struct Server: Decodable {
        var timeout: ConfigDuration
        var size: ByteSize?
        var verbose: Bool
    }

    struct Item: Decodable {
        var name: String
        var weight: Int?
    }

    @Test func decodesWithDefaults() throws {
        let root = try YAMLConfigDecoder.decode(Root.self, from: "items:\n  - name: a\n    weight: 3\n", file: "t.yaml")
        #expect(root.server.timeout == .seconds(1))
        #expect(root.items.first?.weight == 3)
        let empty = try YAMLConfigDecoder.decode(Root.self, from: "", file: "t.yaml")
        #expect(empty.items.isEmpty)
    }

    @Test func reportsUnknownKeysWithLines() {
        let yaml = "server:\n  timeout: 5s\n  verbose: true\n  colour: red\nitems:\n  - name: a\n    wieght: 2\n"
        do {
            _ = try YAMLConfigDecoder.decode(Root.self, from: yaml, file: "t.yaml")
            Issue.record("expected an error")
        } catch let error as ConfigError {
            #expect(error.issues.map(\.path) == ["server.colour", "items.0.wieght"])
            #expect(error.issues.map(\.line) == [4, 7])
            #expect(error.description.contains("t.yaml:4: server.colour: unknown key \"colour\""))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func reportsBadValuesWithLines() {
        let yaml = "server:\n  timeout: soon\n  verbose: true\n"
        #expect {
            try YAMLConfigDecoder.decode(Root.self, from: yaml, file: "t.yaml")
        } throws: { error in
            let issue = (error as? ConfigError)?.issues.first
            return issue?.line == 2 && issue?.path == "server.timeout" && issue?.message.contains("invalid duration") == true
        }
        #expect {
            try YAMLConfigDecoder.decode(Root.self, from: "server:\n  timeout: 1s\n  verbose: perhaps\n", file: "t.yaml")
        } throws: { error in
            (error as? ConfigError)?.issues.first?.line == 3
        }
        #expect {
            try YAMLConfigDecoder.decode(Root.self, from: "server:\n  verbose: true\n", file: "t.yaml")
        } throws: { error in
            (error as? ConfigError)?.issues.first?.message.contains("missing required key \"timeout\"") == true
        }
    }

    @Test func reportsSyntaxErrors() {
        #expect {
            try YAMLConfigDecoder.decode(Root.self, from: "server:\n  timeout: [1s\n", file: "t.yaml")
        } throws: { error in
            (error as? ConfigError)?.issues.first?.message.contains("YAML syntax error") == true
        }
    }
}
