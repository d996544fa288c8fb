import ArgumentParser
import Foundation
import MeshCore
import MeshStore
import MeshViews

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The usage ledger of the whole mesh (from the local replica): requests, tokens, cost.",
        discussion: """
            Examples:
              dagi usage                              # the last 50 requests of the last 24 hours
              dagi usage --agent atlas --since 7d     # one agent's week
              dagi usage --group-by agent,model       # totals per agent and model
              dagi usage --since 2026-12-01 --csv > december.csv
            """
    )

    @OptionGroup var store: StoreOptions
    @Option(help: "Only this agent's requests.") var agent: String?
    @Option(help: "Only this model (as the clients named it).") var model: String?
    @Option(help: "Only this provider's requests.") var provider: String?
    @Option(help: "Only requests served by this node.") var node: String?
    @Option(help: "From: milliseconds, an ISO-8601 date or time, or a span back from now (24h, 7d).") var since = "24h"
    @Option(help: "Until (same forms as --since).") var until: String?
    @Option(name: .customLong("group-by"), help: "Totals per agent, model, physical_model, provider, node, route, status, day or hour (comma-separated).")
    var groupBy: String?
    @Option(help: "At most this many rows.") var limit = 50
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Flag(name: .long, help: "Print CSV.") var csv = false

    func run() async throws {
        let now = HybridLogicalClock.systemMilliseconds()
        guard let from = UsageTime.parse(since, now: now) else { throw ValidationError("--since: \(since) is not a time") }
        let to = try until.map { text -> Int64 in
            guard let ms = UsageTime.parse(text, now: now) else { throw ValidationError("--until: \(text) is not a time") }
            return ms
        }
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1...100000") }
        let filter = UsageFilter(agent: agent, model: model, provider: provider, node: node, since: from, until: to)
        let store = try store.openStore()
        if let groupBy {
            let groups: [UsageGrouping]
            do { groups = try UsageGrouping.list(groupBy) } catch { throw ValidationError("--group-by: \(error.description)") }
            let totals = try await store.usageTotals(filter, groupBy: groups).prefix(limit).map { UsageGroupView($0, groupedBy: groups) }
            if json {
                try Output.printJSON(["data": totals])
            } else {
                print(UsageRenderer.groups(Array(totals), by: groups.map(\.rawValue), color: Output.useColor))
            }
            return
        }
        let rows = try await store.usage(filter, limit: limit).map(UsageRowView.init)
        if csv {
            FileHandle.standardOutput.write(Data(UsageCSV.render(rows).utf8))
        } else if json {
            try Output.printJSON(["data": rows])
        } else {
            print(UsageRenderer.rows(rows, color: Output.useColor))
        }
    }
}

struct Costs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the mesh spent today and this month, by agent, provider, model and node, and what it saved.",
        discussion: """
            Examples:
              dagi costs
              dagi costs --agent atlas --json
            """
    )

    @OptionGroup var store: StoreOptions
    @Option(help: "Only this agent's costs.") var agent: String?
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let report = try await CostsReport.load(try store.openStore(), now: HybridLogicalClock.systemMilliseconds(), agent: agent)
        if json {
            try Output.printJSON(report)
        } else {
            print(UsageRenderer.costs(report, color: Output.useColor))
        }
    }
}
