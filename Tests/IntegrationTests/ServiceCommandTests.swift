import Foundation
import Testing

/// Running a node as a service, and checking a config before it runs.
@Suite struct ServiceCommandTests {
    @Test func installServiceWritesAUnitSystemdAccepts() async throws {
        let root = TemporaryDirectory()
        let config = root.path + "/node.yaml"
        try "node: { id: svc, listen: 127.0.0.1:7311 }\nollama: null\n".write(toFile: config, atomically: true, encoding: .utf8)
        let env = ["HOME": root.path, "DAGI_MESH_SECRET": "a-secret-that-must-not-be-written"]
        let (status, out, err) = try await Binaries.run("node-guardian", ["install-service", "--user", "--no-enable", "--config", config], environment: env)
        #expect(status == 0, "\(out)\(err)")
        #if os(Linux)
        let unit = root.path + "/.config/systemd/user/dagi-node-guardian.service"
        #else
        let unit = root.path + "/Library/LaunchAgents/dev.dagi.node-guardian.plist"
        #endif
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains(try Binaries.path("node-guardian")) && text.contains(config))
        #expect(!text.contains("a-secret-that-must-not-be-written"), "a secret was written into the unit")
        if let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first(where: FileManager.default.isExecutableFile) {
            let (verified, vout, verr) = try await Binaries.runPath(analyze, ["verify", unit])
            #expect(verified == 0, "systemd-analyze verify refused the unit:\n\(vout)\(verr)\n\(text)")
        } else {
            print("systemd-analyze is absent: the unit is not verified by systemd here")
        }
        let (removed, _, rerr) = try await Binaries.run("node-guardian", ["uninstall-service", "--user"], environment: env)
        #expect(removed == 0, "\(rerr)")
        #expect(!FileManager.default.fileExists(atPath: unit))

        // A bad config is refused before anything is written.
        try "node: { listn: 1 }\n".write(toFile: config, atomically: true, encoding: .utf8)
        let (refused, _, _) = try await Binaries.run("node-guardian", ["install-service", "--user", "--no-enable", "--config", config], environment: env)
        #expect(refused == 78)
        #expect(!FileManager.default.fileExists(atPath: unit))
    }

    @Test func configCheckValidatesWithoutStarting() async throws {
        let root = TemporaryDirectory()
        let good = root.path + "/good.yaml", bad = root.path + "/bad.yaml"
        try "node: { id: a, listen: 127.0.0.1:7312 }\nagents:\n  - { name: atlas }\n".write(toFile: good, atomically: true, encoding: .utf8)
        try "node:\n  id: a\n  listn: 127.0.0.1:7312\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let (ok, out, _) = try await Binaries.run("node-guardian", ["config", "check", good])
        #expect(ok == 0)
        #expect(out.contains("ok") && out.contains("1 agent"))
        let (failed, _, err) = try await Binaries.run("node-guardian", ["config", "check", bad])
        #expect(failed == 78)
        #expect(err.contains("bad.yaml:3") && err.contains("node.listn"), "\(err)")
        // Nothing listened: the port is still free.
        #expect((try? await HTTP.get("http://127.0.0.1:7312/health", timeout: .seconds(1))) == nil)
    }
}
