import Foundation
import MeshCore
import Testing
@testable import NodeGuardian

/// `node-guardian config reference` lists exactly the keys `config check` accepts: for every
/// section, a config with one unknown key there makes the real decoder name the keys it knows,
/// and those are the reference's keys.
@Suite struct ConfigReferenceTests {
    @Test func theReferenceListsEveryKeyTheDecoderAccepts() throws {
        let file = NSTemporaryDirectory() + "dagi-ref-\(UUID().uuidString.prefix(8)).pem"
        FileManager.default.createFile(atPath: file, contents: Data("-".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let probes: [String: String] = [
            "": "zz_unknown: 1",
            "node": "node: { zz_unknown: 1 }",
            "node.tls": "node: { tls: { cert: \(file), key: \(file), zz_unknown: 1 } }",
            "ollama": "ollama: { url: http://127.0.0.1:1, zz_unknown: 1 }",
            "metrics": "metrics: { zz_unknown: 1 }",
            "agents[]": "agents: [{ name: a, zz_unknown: 1 }]",
            "mesh": "mesh: { zz_unknown: 1 }",
            "swapper": "swapper: { zz_unknown: 1 }",
            "swapper.models.NAME": "swapper: { models: { m: { cmd: \"true ${PORT}\", zz_unknown: 1 } } }",
            "swapper.groups.NAME": "swapper: { models: { m: { cmd: \"true ${PORT}\" } }, groups: { g: { members: [m], zz_unknown: 1 } } }",
            "router": "router: { zz_unknown: 1 }",
            "providers.NAME": "providers: { p: { kind: openai, key_env: P_KEY, zz_unknown: 1 } }",
            "cloud_models.NAME": "providers: { p: { kind: openai, key_env: P_KEY } }\ncloud_models: { c: { provider: p, id: x, zz_unknown: 1 } }",
            "compat": "compat: { zz_unknown: 1 }",
            "budgets": "budgets: { zz_unknown: 1 }",
            "budgets.global": "budgets: { global: { zz_unknown: 1 } }",
            "budgets.providers.NAME": "providers: { p: { kind: openai, key_env: P_KEY } }\nbudgets: { providers: { p: { zz_unknown: 1 } } }",
            "alerts": "alerts: { zz_unknown: 1 }",
            "cache": "cache: { zz_unknown: 1 }",
            "tiers.NAME": "tiers: { t: { zz_unknown: 1 } }",
        ]
        #expect(Set(probes.keys) == Set(ConfigReference.sections.map(\.path)), "a section of the reference has no probe here")
        for section in ConfigReference.sections {
            let yaml = try #require(probes[section.path])
            do {
                _ = try YAMLConfigDecoder.decode(NodeConfig.self, from: yaml, file: "probe.yaml")
                Issue.record("\(section.path): the unknown key was accepted")
            } catch let error as ConfigError {
                let message = try #require(error.issues.first { $0.message.contains("zz_unknown") }?.message, "\(section.path): \(error)")
                let known = try #require(message.components(separatedBy: "known keys here: ").last?.dropLast()).components(separatedBy: ", ")
                #expect(Set(known) == Set(section.keys.map(\.key)), "\(section.path): the decoder knows \(known.sorted())")
            }
        }
        // Every key has a meaning, and the text shows each section.
        #expect(ConfigReference.sections.allSatisfy { $0.keys.allSatisfy { !$0.meaning.isEmpty } })
        let text = ConfigReference.render()
        #expect(text.contains("swapper.models.NAME:") && text.contains("listen") && text.contains("127.0.0.1:7007"))
    }
}
