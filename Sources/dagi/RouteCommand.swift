import ArgumentParser
import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show where the router would send a request for MODEL, ranked, and why.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "A model name or alias.") var model: String
    @Option(help: "Rank as this agent would be (its preferred nodes, assignments and allowed models).") var agent: String?
    @Flag(help: "Say why each candidate is where it is.") var explain = false
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let client = try await store.guardian()
        var path = "/v1/routes/" + (model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? model)
        if let agent { path += "?agent=" + (agent.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? agent) }
        let answer: JSONValue
        do {
            answer = try await client.get(path)
        } catch let failure as JSONClient.Failure {
            throw ValidationError(failure.description)
        }
        if json {
            print(answer.jsonString)
            return
        }
        let candidates = answer["candidates"]?.arrayValue ?? []
        print("\(model)\(agent.map { " for agent \($0)" } ?? ""): \(candidates.count) candidate\(candidates.count == 1 ? "" : "s")")
        for (index, ranked) in candidates.enumerated() {
            let candidate = ranked["candidate"]
            let node = candidate?["node"]?.stringValue ?? "?"
            let name = candidate?["model"]?.stringValue ?? "?"
            let place = candidate?["place"]?.stringValue ?? "?"
            print("  \(index + 1). \(name) on \(node) (\(place == "remote" ? "remote:\(node)" : "local, \(place)"))")
            if explain { print("     \(ranked["why"]?.stringValue ?? "")") }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage agent API keys on this node (stored hashed, never replicated).",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (or replace) AGENT's key and print it once.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The agent's name.") var agent: String

        func run() async throws {
            guard MeshName.isValid(agent) else { throw ValidationError("invalid agent name \"\(agent)\"") }
            var generator = SystemRandomNumberGenerator()
            let key = "dagi-" + (0..<4).map { _ in String(generator.next() as UInt64, radix: 36) }.joined()
            let store = try store.openStore()
            try await store.setAgentKey(agent: agent, sha256Hex: Hashing.sha256Hex(key))
            if try await store.agent(named: agent) == nil {
                try await store.write { try $0.put(AgentRecord(name: agent)) }
            }
            print(key)
        }
    }
}
