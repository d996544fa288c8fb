import Foundation
import MeshCore

/// The service definition that keeps a node running: a systemd unit on Linux, a launchd agent
/// or daemon on macOS. Secrets never go in it: the node reads them from its environment, which
/// the service loads from an env file only its owner can read.
struct ServiceUnit {
    /// The absolute path of the node-guardian binary to run.
    let executable: String
    let configPath: String?
    let dataDirectory: String?
    /// A per-user service (no root) instead of a system one.
    let user: Bool
    let home: String

    static let systemdName = "dagi-node-guardian.service"
    static let launchdLabel = "dev.dagi.node-guardian"

    /// Where the definition goes.
    var path: String {
        #if os(macOS)
        return user ? home + "/Library/LaunchAgents/\(Self.launchdLabel).plist" : "/Library/LaunchDaemons/\(Self.launchdLabel).plist"
        #else
        return user ? home + "/.config/systemd/user/\(Self.systemdName)" : "/etc/systemd/system/\(Self.systemdName)"
        #endif
    }

    /// The env file the service loads: `DAGI_MESH_SECRET=…`, agent and provider keys.
    var environmentFile: String { user ? home + "/.config/dagi/env" : "/etc/dagi/env" }

    var arguments: [String] {
        var arguments = [executable, "run"]
        if let configPath { arguments += ["--config", configPath] }
        if let dataDirectory { arguments += ["--data-dir", dataDirectory] }
        return arguments
    }

    var contents: String {
        #if os(macOS)
        return launchdPlist
        #else
        return systemdUnit
        #endif
    }

    var systemdUnit: String {
        """
        # Written by `node-guardian install-service`; `node-guardian uninstall-service` removes it.
        [Unit]
        Description=DAGI Mesh node guardian
        After=network-online.target
        Wants=network-online.target

        [Service]
        Type=simple
        # DAGI_MESH_SECRET=… and agent or provider keys, one per line; only its owner may read it.
        EnvironmentFile=-\(environmentFile)
        ExecStart=\(arguments.map(Self.systemdQuoted).joined(separator: " "))
        # SIGTERM stops the server, flushes, stops every model server and pushes the last changes to peers.
        KillSignal=SIGTERM
        TimeoutStopSec=60
        Restart=on-failure
        RestartSec=2
        # SIGTERM to the guardian alone, which stops its model servers in order; whatever is left
        # in the unit's group after TimeoutStopSec gets SIGKILL.
        KillMode=mixed
        LimitNOFILE=65536
        NoNewPrivileges=yes
        PrivateTmp=yes

        [Install]
        WantedBy=\(user ? "default.target" : "multi-user.target")

        """
    }

    var launchdPlist: String {
        // launchd has no env files: a shell loads it, then becomes the node.
        let command = "set -a; [ -r \(Self.shellQuoted(environmentFile)) ] && . \(Self.shellQuoted(environmentFile)); set +a; exec "
            + arguments.map(Self.shellQuoted).joined(separator: " ")
        let log = user ? home + "/Library/Logs/dagi-node-guardian.log" : "/var/log/dagi-node-guardian.log"
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- Written by `node-guardian install-service`; `node-guardian uninstall-service` removes it. -->
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
              <key>Label</key><string>\(Self.launchdLabel)</string>
              <key>ProgramArguments</key>
              <array>
                <string>/bin/sh</string>
                <string>-c</string>
                <string>\(Self.xmlEscaped(command))</string>
              </array>
              <key>RunAtLoad</key><true/>
              <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
              <key>ExitTimeOut</key><integer>60</integer>
              <key>StandardErrorPath</key><string>\(Self.xmlEscaped(log))</string>
              <key>StandardOutPath</key><string>\(Self.xmlEscaped(log))</string>
            </dict>
            </plist>

            """
    }

    /// The commands that make the service manager load and start it, and stop and forget it.
    var enableCommands: [[String]] {
        #if os(macOS)
        let domain = user ? "gui/\(getuid())" : "system"
        // Unload first (a reinstall), ignoring "not loaded"; see ServiceManager.
        return [["launchctl", "bootout", "\(domain)/\(Self.launchdLabel)"], ["launchctl", "bootstrap", domain, path]]
        #else
        let scope = user ? ["--user"] : []
        // restart, not start: a reinstall with another config must take effect.
        return [["systemctl"] + scope + ["daemon-reload"], ["systemctl"] + scope + ["enable", Self.systemdName], ["systemctl"] + scope + ["restart", Self.systemdName]]
        #endif
    }

    var disableCommands: [[String]] {
        #if os(macOS)
        let domain = user ? "gui/\(getuid())" : "system"
        return [["launchctl", "bootout", "\(domain)/\(Self.launchdLabel)"]]
        #else
        let scope = user ? ["--user"] : []
        return [["systemctl"] + scope + ["disable", "--now", Self.systemdName]]
        #endif
    }

    /// systemd's own quoting for ExecStart: double quotes, with `\`, `"`, `$` and `%` escaped.
    static func systemdQuoted(_ argument: String) -> String {
        if ShellWord.isPlain(argument) { return argument }
        var out = "\""
        for character in argument {
            switch character {
            case "\\", "\"": out += "\\\(character)"
            case "$": out += "$$"
            case "%": out += "%%"
            default: out.append(character)
            }
        }
        return out + "\""
    }

    static func shellQuoted(_ argument: String) -> String { ShellWord.quoted(argument) }

    static func xmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
