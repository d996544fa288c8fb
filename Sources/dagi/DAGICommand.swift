import ArgumentParser
import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews

@main
struct DAGICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dagi",
        abstract: "Look at and steer a DAGI Mesh from any of its nodes.",
        version: DAGIVersion.current,
        subcommands: [Status.self, Chat.self, Models.self, Agents.self, Logs.self, Route.self, Unload.self, Peers.self, Keys.self, Usage.self, Costs.self, Doctor.self, Completion.self]
    )
}

/// Options shared by commands that read the local store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory of the node (default: $DAGI_HOME or the user data directory).")
    var dataDir: String?

    func openStore() throws -> MeshStore {
        let directory = DataDirectory.resolve(dataDir)
        do {
            return try MeshStore.openExisting(path: MeshStore.databasePath(inDataDirectory: directory))
        } catch let error as StoreError {
            throw ValidationError(error.message)
        }
    }

    /// A client for the running guardian of this node, at the address its own row records.
    func guardian() async throws -> JSONClient {
        guard let node = try await openStore().localNode() else {
            throw ValidationError("the node has not run yet (no node row in its store)")
        }
        return JSONClient(baseURL: node.apiURL)
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every node, model and agent of the mesh from the local replica (works with the guardian stopped).",
        discussion: """
            Examples:
              dagi status                 # nodes (online/stale/offline), models, agents
              dagi status --watch         # redrawn every 2 s in place; Ctrl-C stops
              dagi status --json | jq '.nodes[] | {id, state}'
            """
    )

    @OptionGroup var store: StoreOptions

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    @Flag(name: .long, help: "Redraw in place until Ctrl-C (with --json: one document per line).")
    var watch = false

    @Option(name: .long, help: "Seconds between redraws with --watch.")
    var interval: Double = 2

    func validate() throws {
        guard (0.2...3600).contains(interval) else { throw ValidationError("--interval must be 0.2...3600 seconds") }
    }

    func run() async throws {
        let store = try store.openStore()
        guard watch else {
            try show(store, compact: false)
            return
        }
        while true {
            if !json {
                // Home and clear, then the report: the screen is redrawn, not scrolled.
                let stamp = Date().formatted(date: .omitted, time: .standard)
                print("\u{1B}[H\u{1B}[2J" + "every \(interval.formatted())s · \(stamp) · Ctrl-C stops\n")
            }
            try show(store, compact: true)
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    private func show(_ store: MeshStore, compact: Bool) throws {
        let report = StatusReport(try store.stateNow(), now: HybridLogicalClock.systemMilliseconds())
        if json {
            try Output.printJSON(report, compact: compact)
        } else {
            print(StatusRenderer.render(report, color: Output.useColor))
        }
        fflush(nil)
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a Swapper model server's recent output on this node.",
        discussion: """
            Examples:
              dagi logs smollm2           # its last 100 lines
              dagi logs smollm2 -n 20 -f  # the last 20, then new lines as they come (Ctrl-C stops)
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The model (name or alias).") var model: String
    @Option(name: .shortAndLong, help: "Lines to print first.") var lines = 100
    @Flag(name: .shortAndLong, help: "Keep printing new lines.") var follow = false

    func validate() throws {
        guard (0...100_000).contains(lines) else { throw ValidationError("-n must be 0...100000") }
    }

    func run() async throws {
        let client = try await store.guardian()
        let path = "/swapper/logs/" + (model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? model)
        var seen: [Substring] = []
        do {
            seen = try await client.text(path + "?tail=\(lines)").split(separator: "\n")
            for line in seen { print(line) }
            fflush(nil)
            while follow {
                try await Task.sleep(for: .seconds(1))
                let now = try await client.text(path + "?tail=500").split(separator: "\n")
                for line in Self.added(after: seen, in: now) { print(line) }
                fflush(nil)
                seen = now
            }
        } catch let failure as JSONClient.Failure {
            throw ValidationError(failure.description)
        }
    }

    /// The lines of `now` past its overlap with the end of `before` (the server keeps a window
    /// of lines, so the two share a run of them).
    static func added(after before: [Substring], in now: [Substring]) -> ArraySlice<Substring> {
        for overlap in stride(from: min(before.count, now.count), to: 0, by: -1)
        where before.suffix(overlap).elementsEqual(now.prefix(overlap)) {
            return now.dropFirst(overlap)
        }
        return now[...]
    }
}

struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print dagi's completion script for bash, zsh or fish.",
        discussion: """
            Examples:
              dagi completion bash > ~/.local/share/bash-completion/completions/dagi
              dagi completion zsh > "${fpath[1]}/_dagi"
              dagi completion fish > ~/.config/fish/completions/dagi.fish
            """
    )

    @Argument(help: "bash, zsh or fish.") var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else { throw ValidationError("unknown shell \"\(shell)\" (bash, zsh or fish)") }
        print(DAGICommand.completionScript(for: kind))
    }
}
