import ArgumentParser
import Foundation
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews

struct Agents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the mesh's agents, assign them to nodes, and set their policy.",
        discussion: """
            Examples:
              dagi agents                              # every agent: status, assignments, limits (from the local replica)
              dagi agents assign atlas gpu laptop      # atlas works on gpu, then laptop (appended, in order)
              dagi agents unassign atlas laptop
              dagi agents policy atlas --rpm 60 --budget-daily 2.50 --allow-cloud true --models smollm2,fast

            Changes go through this node's API (run it on the node, or pass the admin token in
            $DAGI_ADMIN_TOKEN) and replicate to every node.
            """,
        subcommands: [List.self, Assign.self, Unassign.self, Policy.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every agent of the mesh (works with the guardian stopped).", discussion: "Examples:\n  dagi agents\n  dagi agents list --json")
        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let opened = try store.openStore()
            let report = StatusReport(try opened.stateNow(), now: HybridLogicalClock.systemMilliseconds(), spentToday: try opened.spentTodayNow())
            if json {
                try Output.printJSON(["agents": report.agents])
                return
            }
            guard !report.agents.isEmpty else {
                print("no agents yet (config agents:, dagi keys create NAME, or dagi agents policy NAME ...)")
                return
            }
            print(StatusRenderer.renderAgents(report, color: Output.useColor))
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign AGENT to NODEs (appended to its list, in order).", discussion: "Example:\n  dagi agents assign atlas gpu laptop")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The agent.") var agent: String
        @Argument(help: "Node ids.") var nodes: [String]

        func run() async throws {
            let current = try await assigned(agent, store)
            try await edit(agent, ["assign": .array((current + nodes.filter { !current.contains($0) }).map(JSONValue.string))], store)
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove NODEs from AGENT's assignments.", discussion: "Example:\n  dagi agents unassign atlas laptop")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The agent.") var agent: String
        @Argument(help: "Node ids.") var nodes: [String]

        func run() async throws {
            let current = try await assigned(agent, store)
            try await edit(agent, ["assign": .array(current.filter { !nodes.contains($0) }.map(JSONValue.string))], store)
        }
    }

    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change AGENT's limits and permissions on every node (creates the agent if it is new).",
            discussion: "Example:\n  dagi agents policy atlas --rpm 60 --budget-daily 2.50 --allow-cloud false"
        )
        @OptionGroup var store: StoreOptions
        @Argument(help: "The agent.") var agent: String
        @Option(name: .long, help: "Requests per minute across the mesh (0 removes the limit).") var rpm: Int?
        @Option(name: .long, help: "Tokens per minute across the mesh (0 removes the limit).") var tpm: Int?
        @Option(name: .long, help: "Past a budget: downgrade (cloud models left out) or block (requests for them refused).") var onExceed: String?
        @Option(name: .long, help: "Daily budget in USD (0 removes it).") var budgetDaily: Double?
        @Option(name: .long, help: "Monthly budget in USD (0 removes it).") var budgetMonthly: Double?
        @Option(name: .long, help: "May it use cloud models: true or false.") var allowCloud: Bool?
        @Option(name: .long, help: "Allowed models, comma-separated (empty: all).") var models: String?
        @Option(name: .long, help: "Its tier.") var tier: String?
        @Option(name: .long, help: "low (waits behind other work on a busy local model, never the cloud), normal or high.") var priority: String?
        @Option(name: .long, help: "An identical request within this interval (e.g. 30s, 5m) is answered from the cache; 0 removes it.") var minInterval: String?
        @Option(name: .long, help: "auto: prompts sent to Anthropic get prompt-cache breakpoints; off.") var promptCache: String?

        func validate() throws {
            // The ranges the node's config and API take.
            if let rpm, !(0...1_000_000_000).contains(rpm) { throw ValidationError("--rpm must be 0...1000000000") }
            if let tpm, !(0...1_000_000_000_000).contains(tpm) { throw ValidationError("--tpm must be 0...1000000000000") }
            if let onExceed, onExceed != "downgrade", onExceed != "block" { throw ValidationError("--on-exceed must be downgrade or block") }
            if let priority, RequestPriority(name: priority) == nil { throw ValidationError("--priority must be low, normal or high") }
            if let minInterval, minInterval != "0", ConfigDuration(parsing: minInterval).map({ CallPolicy.minIntervalRange.contains($0.milliseconds) }) != true {
                throw ValidationError("--min-interval must be a duration from 1s to 1d (e.g. 30s), or 0")
            }
            if let promptCache, promptCache != "auto", promptCache != "off" { throw ValidationError("--prompt-cache must be auto or off") }
            for (value, name) in [(budgetDaily, "--budget-daily"), (budgetMonthly, "--budget-monthly")] {
                if let value, !(value == 0 || (1e-6...1e9).contains(value)) { throw ValidationError("\(name) must be 0 (none), or 0.000001...1000000000") }
            }
        }

        func run() async throws {
            var fields: [String: JSONValue] = [:]
            if let rpm { fields["rpm"] = rpm == 0 ? .null : .int(Int64(rpm)) }
            if let tpm { fields["tpm"] = tpm == 0 ? .null : .int(Int64(tpm)) }
            if let onExceed { fields["on_exceed"] = .string(onExceed) }
            if let budgetDaily { fields["budget_daily_usd"] = budgetDaily == 0 ? .null : .number(budgetDaily) }
            if let budgetMonthly { fields["budget_monthly_usd"] = budgetMonthly == 0 ? .null : .number(budgetMonthly) }
            if let allowCloud { fields["allow_cloud"] = .bool(allowCloud) }
            if let models { fields["models"] = .array(models.split(separator: ",").map { .string(String($0)) }) }
            if let tier { fields["tier"] = .string(tier) }
            if let priority { fields["priority"] = .string(priority) }
            if let minInterval { fields["min_interval"] = minInterval == "0" ? .null : .string(minInterval) }
            if let promptCache { fields["prompt_cache"] = .string(promptCache) }
            guard !fields.isEmpty else {
                throw ValidationError(
                    "nothing to change: give --rpm, --tpm, --on-exceed, --budget-daily, --budget-monthly, --allow-cloud, --models, --tier, --priority, --min-interval or --prompt-cache"
                )
            }
            try await edit(agent, .object(fields), store)
        }
    }

    /// The agent's assigned nodes, in order, from the local replica.
    static func assignedNodes(_ agent: String, _ store: StoreOptions) throws -> [String] {
        let report = StatusReport(try store.openStore().stateNow(), now: HybridLogicalClock.systemMilliseconds())
        return report.agents.first { $0.name == agent }?.assigned ?? []
    }
}

private func assigned(_ agent: String, _ store: StoreOptions) async throws -> [String] {
    guard MeshName.isValid(agent) else { throw ValidationError("invalid agent name \"\(agent)\"") }
    return try Agents.assignedNodes(agent, store)
}

/// PUT /v1/agents/NAME on this node, then prints the agent as the node now has it.
private func edit(_ agent: String, _ fields: JSONValue, _ store: StoreOptions) async throws {
    guard MeshName.isValid(agent) else { throw ValidationError("invalid agent name \"\(agent)\"") }
    var client = try await store.guardian()
    client.bearer = ProcessInfo.processInfo.environment["DAGI_ADMIN_TOKEN"]
    do {
        let view = try await client.put("/v1/agents/\(agent)", fields)
        let assigned = view["assigned"]?.arrayValue?.compactMap(\.stringValue) ?? []
        print("\(agent): assigned \(assigned.isEmpty ? "nowhere" : assigned.joined(separator: ", ")); the change replicates to every node")
    } catch let failure as JSONClient.Failure {
        throw ValidationError(failure.description)
    }
}

