import ArgumentParser
import Foundation
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews

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
                print((Output.isTerminal ? "\u{1B}[H\u{1B}[2J" : "") + "every \(interval.formatted())s · \(stamp) · Ctrl-C stops\n")
            }
            try show(store, compact: true)
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    private func show(_ store: MeshStore, compact: Bool) throws {
        let report = StatusReport(try store.stateNow(), now: HybridLogicalClock.systemMilliseconds(), spentToday: try store.spentTodayNow())
        if json {
            try Output.printJSON(report, compact: compact)
        } else {
            print(StatusRenderer.render(report, color: Output.useColor))
        }
        fflush(nil)
    }
}
