import ArgumentParser
import Foundation
import MeshCore
import NodeGuardian

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with node config files.",
        subcommands: [Check.self, Reference.self]
    )

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every config key with its default and meaning (from the config types themselves).",
            discussion: "Example:\n  node-guardian config reference | grep swapper"
        )

        func run() { print(ConfigReference.render()) }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a node config without starting the node; exit 78 with every bad key's line.",
            discussion: "Example:\n  node-guardian config check nodes/linux-gpu.yaml"
        )

        @Argument(help: "The config file (YAML).") var file: String

        func run() throws {
            do {
                let config = try NodeConfig.load(path: file)
                let models = config.swapper?.models.count ?? 0
                print("\(file): ok (\(models) Swapper model\(models == 1 ? "" : "s"), \(config.agents.count) agent\(config.agents.count == 1 ? "" : "s"), \(config.mesh.peers.count) peer\(config.mesh.peers.count == 1 ? "" : "s"), \(config.providers.count) provider\(config.providers.count == 1 ? "" : "s"))")
            } catch let error as ConfigError {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(78)
            }
        }
    }
}
