import ArgumentParser
import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show where the router would send a request for MODEL, ranked, and why.",
        discussion: "Examples:\n  dagi route smollm2\n  dagi route fast --agent atlas --explain\n  dagi route fast --json"
    )

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
            let wait = ranked["expected_wait"]?["seconds"]?.doubleValue.map {
                $0 < 1 ? String(format: ", expected wait %.0f ms", $0 * 1000) : String(format: ", expected wait %.2f s", $0)
            } ?? ""
            print("  \(index + 1). \(name) on \(node) (\(place == "remote" ? "remote:\(node)" : "local, \(place)")\(wait))")
            if explain { print("     \(ranked["why"]?.stringValue ?? "")") }
        }
    }
}
