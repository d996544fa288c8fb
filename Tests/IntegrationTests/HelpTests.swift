import Foundation
import Testing

/// Every command of both binaries explains itself with an example, and `dagi` prints colour
/// only to a terminal (never into a pipe, never with NO_COLOR).
@Suite struct HelpTests {
    @Test func everySubcommandHasAnExample() async throws {
        let dagi = [
            "status", "chat", "models", "agents list", "agents assign", "agents unassign", "agents policy", "logs", "route", "unload",
            "peers list", "peers add", "peers remove", "keys create", "keys list", "keys revoke", "usage", "costs", "doctor", "completion",
        ]
        for command in dagi {
            let (status, out, err) = try await Binaries.run("dagi", command.split(separator: " ").map(String.init) + ["--help"])
            #expect(status == 0, "dagi \(command) --help: \(err)")
            #expect(out.contains("Example"), "dagi \(command) --help has no example")
        }
        for command in ["run", "config check", "config reference", "install-service", "uninstall-service"] {
            let (status, out, _) = try await Binaries.run("node-guardian", command.split(separator: " ").map(String.init) + ["--help"])
            #expect(status == 0 && out.contains("Example"), "node-guardian \(command) --help has no example")
        }
    }

    @Test func noColourIntoAPipe() async throws {
        let root = TemporaryDirectory()
        let node = try GuardianProcess(nodeID: "plain", root: root.path)
        try await withGuardians([node]) {
            try await node.start()
            for command in [["status"], ["agents"], ["models"], ["doctor"]] {
                let (_, out, _) = try await Binaries.run("dagi", command + ["--data-dir", node.dataDirectory])
                #expect(!out.contains("\u{1B}["), "dagi \(command) wrote colour into a pipe")
            }
        }
    }
}
