import Foundation
import MeshCore
import Testing

/// `dagi` as people use it, in a real terminal: tmux runs it, the test types with `send-keys`
/// and reads the screen with `capture-pane`.
@Suite(.serialized) struct TerminalTests {
    /// A tmux session on its own server socket, killed at the end.
    final class Terminal: Sendable {
        let socket: String
        let name = "dagi"

        init(root: TemporaryDirectory, command: String) async throws {
            socket = root.path + "/tmux.sock"
            // The first command forks tmux's server, which keeps every descriptor it inherits —
            // including the one Foundation's Process watches to learn that its child ended, so
            // the start would never be seen to end. Python's subprocess starts it with every
            // descriptor past stdio closed.
            let (status, _, err) = try await Binaries.runPath("/usr/bin/env", [
                "python3", "-c",
                // The test runner blocks signals and children inherit its mask: with SIGHUP
                // blocked, the program in the pane outlives tmux's kill-server, and so does tmux.
                "import signal, subprocess, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); sys.exit(subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode)",
                "/usr/bin/tmux", "-S", socket, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", command,
            ], timeout: .seconds(20))
            guard status == 0 else { throw TestFailure("tmux new-session failed (\(status)): \(err)") }
        }

        static func tmux(_ socket: String, _ arguments: [String]) async throws -> (Int32, String, String) {
            try await Binaries.runPath("/usr/bin/tmux", ["-S", socket] + arguments, timeout: .seconds(20))
        }

        func type(_ text: String) async throws {
            _ = try await Self.tmux(socket, ["send-keys", "-t", name, "-l", text])
            _ = try await Self.tmux(socket, ["send-keys", "-t", name, "Enter"])
        }

        /// The visible screen, trailing blank lines dropped.
        func screen() async throws -> String {
            let (_, out, _) = try await Self.tmux(socket, ["capture-pane", "-p", "-t", name])
            return out.replacingOccurrences(of: #"\n+$"#, with: "", options: .regularExpression)
        }

        var isAlive: Bool {
            get async { ((try? await Self.tmux(socket, ["has-session", "-t", name]))?.0 ?? 1) == 0 }
        }

        func close() async {
            _ = try? await Self.tmux(socket, ["kill-server"])
        }
    }

    /// Runs `body` with a terminal running `command`; the tmux server is killed afterwards,
    /// also when the body throws.
    private func withTerminal(_ root: TemporaryDirectory, _ command: String, _ body: (Terminal) async throws -> Void) async throws {
        let terminal = try await Terminal(root: root, command: command)
        do {
            try await body(terminal)
        } catch {
            await terminal.close()
            throw error
        }
        await terminal.close()
    }

    /// A node serving SmolLM2 from its models folder, with a key for agent "me".
    private func smolNode(_ root: TemporaryDirectory) throws -> GuardianProcess {
        let node = try GuardianProcess(nodeID: "term", root: root.path, environment: ["DAGI_LLAMA_SERVER": try RealModels.llamaServer()])
        try FileManager.default.createDirectory(atPath: node.dataDirectory + "/models", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: node.dataDirectory + "/models/smollm2.gguf", withDestinationPath: try RealModels.smollm2())
        return node
    }

    @Test func chatStreamsTokensAndKeepsTheConversation() async throws {
        let root = TemporaryDirectory()
        let node = try smolNode(root)
        try await withGuardians([node]) {
            try await node.start()
            let (status, key, err) = try await Binaries.run("dagi", ["keys", "create", "me", "--data-dir", node.dataDirectory])
            #expect(status == 0, "\(err)")
            let dagi = try Binaries.path("dagi")
            // The key goes through a file (tmux shows its command line in `ps`, as any process).
            let keyFile = root.path + "/key"
            FileManager.default.createFile(atPath: keyFile, contents: Data(key.trimmingCharacters(in: .whitespacesAndNewlines).utf8), attributes: [.posixPermissions: 0o600])
            let command = "export DAGI_API_KEY=\"$(cat \(keyFile))\"; exec \(dagi) chat smollm2 --url \(node.baseURL) --max-tokens 200"
            try await withTerminal(root, command) { terminal in
            try await poll(timeout: .seconds(20), "the chat prompt") { try await terminal.screen().hasSuffix(">>>") }

            // While the answer streams, part of it is on screen and the prompt has not come back.
            try await terminal.type("Write the numbers from one to fifty in words, separated by commas.")
            var partial: String?
            // Generous: on two cores shared with the rest of the suite, tokens come slowly.
            try await poll(timeout: .seconds(180), "the answer to finish:\n\((try? await terminal.screen()) ?? "")") {
                let screen = try await terminal.screen()
                let answer = Self.lastAnswer(screen)
                if screen.hasSuffix(">>>") { return true }
                if partial == nil, !answer.isEmpty { partial = answer }
                return false
            }
            let whole = Self.lastAnswer(try await terminal.screen())
            let seen = try #require(partial, "no token was on screen before the answer ended")
            #expect(seen.count < whole.count, "the first text seen (\(seen.count) chars) was already the whole answer (\(whole.count))")

            // A second turn and the commands work; /exit ends the session.
            try await terminal.type("/model")
            try await poll(timeout: .seconds(10), "/model to print the model") { try await terminal.screen().contains("model: smollm2") }
            try await terminal.type("/exit")
            try await poll(timeout: .seconds(10), "the chat to end") { await !terminal.isAlive }
            }
        }
    }

    /// The text after the last prompt line, without a trailing prompt.
    static func lastAnswer(_ screen: String) -> String {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        guard let question = lines.lastIndex(where: { $0.hasPrefix(">>> ") && $0.count > 4 }) else { return "" }
        return lines[(question + 1)...].filter { $0 != ">>>" }.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func statusWatchShowsANodeGoingOffline() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["watcher", "leaver"], links: ["watcher": ["leaver"], "leaver": ["watcher"]], metricsInterval: "1s")
        let watcher = nodes["watcher"]!, leaver = nodes["leaver"]!
        try await withGuardians([watcher, leaver]) {
            try await watcher.start()
            try await leaver.start()
            let dagi = try Binaries.path("dagi")
            try await withTerminal(root, "\(dagi) status --watch --interval 0.5 --data-dir \(watcher.dataDirectory)") { terminal in
            func row(_ id: String) async throws -> String? {
                try await terminal.screen().split(separator: "\n").first { $0.contains(id) && ($0.contains("online") || $0.contains("offline") || $0.contains("stale")) }.map(String.init)
            }
            try await poll(timeout: .seconds(30), "leaver online on the watcher's screen") { try await row("leaver")?.contains("online") == true }
            #expect(try await terminal.screen().contains("Ctrl-C stops"))
            // A clean stop says "offline" in its last heartbeat, which syncs to the watcher; the
            // screen redraws without anyone touching it.
            _ = try await leaver.stop()
            try await poll(timeout: .seconds(30), "leaver offline on the watcher's screen") { try await row("leaver")?.contains("offline") == true }
            #expect(await terminal.isAlive, "status --watch exited")
            }
        }
    }
}
