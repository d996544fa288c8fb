import ArgumentParser
import Foundation
import MeshCore
import NodeGuardian

struct InstallService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-service",
        abstract: "Write and enable a systemd unit (Linux) or launchd plist (macOS) that runs this node.",
        discussion: """
            Examples:
              node-guardian install-service --user --config ~/dagi/node.yaml   # a per-user service
              sudo node-guardian install-service --config /etc/dagi/node.yaml  # a system service
              node-guardian install-service --user --no-enable                 # write the file only

            Secrets (DAGI_MESH_SECRET, agent and provider keys) go in the env file it names,
            never in the unit.
            """
    )

    @Option(name: .long, help: "The node config the service runs with (validated first).")
    var config: String?

    @Option(name: .long, help: "The node's data directory (default: the service user's).")
    var dataDir: String?

    @Flag(name: .long, help: "A service of this user (no root needed) instead of a system one.")
    var user = false

    @Flag(name: .long, help: "Write the file without asking the service manager to start it.")
    var noEnable = false

    func run() throws {
        let config = try self.config.map(Self.absolute)
        if let config {
            do {
                _ = try NodeConfig.load(path: config)
            } catch let error as ConfigError {
                FileHandle.standardError.write(Data("node-guardian: configuration error\n\(error)\n".utf8))
                throw ExitCode(78)
            }
        }
        let unit = ServiceUnit(
            executable: Self.absolute(CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : Bundle.main.executablePath ?? "node-guardian"),
            configPath: config, dataDirectory: dataDir.map(Self.absolute), user: user,
            home: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        )
        let directory = (unit.path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(unit.contents.utf8).write(to: URL(fileURLWithPath: unit.path), options: .atomic)
        print("wrote \(unit.path)")
        print("secrets (DAGI_MESH_SECRET=…, keys) go in \(unit.environmentFile), readable by its owner only (chmod 600)")
        guard !noEnable else { return }
        for command in unit.enableCommands {
            let status = ServiceManager.run(command)
            guard status == 0 else {
                throw ValidationError("`\(command.joined(separator: " "))` failed (exit \(status)); the file is written — start it by hand, or use --no-enable")
            }
        }
        print("enabled and started; stop and remove with: node-guardian uninstall-service\(user ? " --user" : "")")
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: DataDirectory.resolve(path)).standardizedFileURL.path
    }
}

struct UninstallService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall-service",
        abstract: "Stop and remove the service that install-service wrote.",
        discussion: "Example:\n  node-guardian uninstall-service --user"
    )

    @Flag(name: .long, help: "The per-user service instead of the system one.")
    var user = false

    func run() throws {
        let unit = ServiceUnit(executable: "", configPath: nil, dataDirectory: nil, user: user, home: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory())
        guard FileManager.default.fileExists(atPath: unit.path) else { throw ValidationError("no service at \(unit.path)") }
        // Stopping may fail when it was never started (--no-enable); the file goes either way.
        for command in unit.disableCommands { _ = ServiceManager.run(command) }
        try FileManager.default.removeItem(atPath: unit.path)
        print("removed \(unit.path)")
    }
}

/// Runs systemctl or launchctl, their output shown to the user.
enum ServiceManager {
    static func run(_ command: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        do {
            try process.run()
        } catch {
            return 127
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

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
