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
        guard let executable = ExecutableSearch.currentExecutable() else { throw ValidationError("cannot tell where this node-guardian binary is") }
        let unit = ServiceUnit(
            executable: executable, configPath: config, dataDirectory: dataDir.map(Self.absolute), user: user,
            home: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        )
        for path in unit.arguments where path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ValidationError("\(path.debugDescription) holds a control character; a unit file cannot carry it safely")
        }
        // A system service runs as root: a binary its users could rewrite would give them root.
        if !user { try Self.requireRootOwned(executable) }
        let directory = (unit.path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(unit.contents.utf8).write(to: URL(fileURLWithPath: unit.path), options: .atomic)
        print("wrote \(unit.path)")
        // The env file, made empty and private if missing, so secrets are never put in a readable one.
        if !FileManager.default.fileExists(atPath: unit.environmentFile) {
            try FileManager.default.createDirectory(atPath: (unit.environmentFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: unit.environmentFile, contents: Data(), attributes: [.posixPermissions: 0o600])
        }
        print("secrets (DAGI_MESH_SECRET=…, keys) go in \(unit.environmentFile), one NAME=value per line (mode 600)")
        guard !noEnable else { return }
        for (index, command) in unit.enableCommands.enumerated() {
            let status = ServiceManager.run(command)
            // launchctl bootout of a service that is not loaded yet fails, harmlessly.
            guard status == 0 || (command.first == "launchctl" && index == 0) else {
                throw ValidationError("`\(command.joined(separator: " "))` failed (exit \(status)); the file is written — start it by hand, or use --no-enable")
            }
        }
        print("enabled and started; stop and remove with: node-guardian uninstall-service\(user ? " --user" : "")")
    }

    /// The file and every folder above it owned by root and writable by no one else.
    static func requireRootOwned(_ path: String) throws {
        var current = path
        while true {
            let attributes = try FileManager.default.attributesOfItem(atPath: current)
            let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue ?? -1
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
            let sticky = current == "/tmp" || mode & 0o1000 != 0
            guard owner == 0, mode & 0o022 == 0 || (sticky && current != path) else {
                throw ValidationError(
                    "\(current) is not root's alone (owner \(owner), mode \(String(mode, radix: 8))): a system service would run whatever is put there as root. "
                        + "Install the binary first (sudo install -m 0755 node-guardian /usr/local/bin/), run that one, or use --user"
                )
            }
            if current == "/" { return }
            current = (current as NSString).deletingLastPathComponent
            if current.isEmpty { return }
        }
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
