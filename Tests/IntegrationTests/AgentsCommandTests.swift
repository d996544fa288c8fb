import Foundation
import MeshCore
import Testing

/// `dagi agents` changes an agent on one node and every node sees it.
@Suite struct AgentsCommandTests {
    @Test func policyAndAssignmentsReplicate() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["one", "two"], links: ["one": ["two"], "two": ["one"]])
        let one = nodes["one"]!, two = nodes["two"]!
        try await withGuardians([one, two]) {
            try await one.start()
            try await two.start()
            func agent(on node: GuardianProcess) async throws -> JSONValue? {
                let (_, out, _) = try await Binaries.run("dagi", ["agents", "--json", "--data-dir", node.dataDirectory])
                return try JSONValue.parse(Array(out.utf8))["agents"]?.arrayValue?.first { $0["name"] == "scout" }
            }
            let (set, out, err) = try await Binaries.run("dagi", ["agents", "policy", "scout", "--budget-daily", "2.5", "--allow-cloud", "true", "--data-dir", one.dataDirectory])
            #expect(set == 0, "\(out)\(err)")
            let (assigned, _, aerr) = try await Binaries.run("dagi", ["agents", "assign", "scout", "one", "two", "--data-dir", one.dataDirectory])
            #expect(assigned == 0, "\(aerr)")
            try await poll(timeout: .seconds(20), "two to see scout's policy and assignments") {
                let scout = try await agent(on: two)
                return scout?["budget_daily_usd"] == 2.5 && scout?["allow_cloud"] == true && scout?["assigned"] == ["one", "two"]
            }
            let (unassigned, _, uerr) = try await Binaries.run("dagi", ["agents", "unassign", "scout", "one", "--data-dir", two.dataDirectory])
            #expect(unassigned == 0, "\(uerr)")
            try await poll(timeout: .seconds(20), "one to see the unassignment") { try await agent(on: one)?["assigned"] == ["two"] }
            let (_, table, _) = try await Binaries.run("dagi", ["agents", "--data-dir", one.dataDirectory])
            #expect(table.contains("scout") && table.contains("$2.50"), "\(table)")
            let (bad, _, berr) = try await Binaries.run("dagi", ["agents", "policy", "scout", "--rpm", "-3", "--data-dir", one.dataDirectory])
            #expect(bad != 0 && berr.contains("--rpm"), "\(berr)")
        }
    }
}
