import ArgumentParser
import Foundation
import MeshCore
import MeshHTTP
import MeshStore

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage agent API keys on this node (stored hashed, never replicated).",
        discussion: """
            Examples:
              dagi keys create atlas      # prints a new key once; replaces atlas's old key on this node
              dagi keys list              # agents with a key here, and the first digits of its hash
              dagi keys revoke atlas      # the key stops working at once

            Deleting an agent (DELETE /v1/agents/NAME) revokes its keys on every node.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (or replace) AGENT's key and print it once.", discussion: "Example:\n  export DAGI_API_KEY=$(dagi keys create atlas)")
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

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the agents with a key on this node.", discussion: "Examples:\n  dagi keys list\n  dagi keys list --json")
        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let keys = try await store.openStore().agentKeys()
            if json {
                try Output.printJSON(["keys": keys.map { ["agent": $0.agent, "sha256_prefix": $0.hashPrefix] }])
            } else if keys.isEmpty {
                print("no agent has a key on this node (dagi keys create AGENT)")
            } else {
                for key in keys { print("\(key.agent)\tsha256:\(key.hashPrefix)…") }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove AGENT's key from this node; it stops working at once.", discussion: "Example:\n  dagi keys revoke atlas")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The agent's name.") var agent: String

        func run() async throws {
            guard try await store.openStore().removeAgentKey(agent: agent) else { throw ValidationError("\(agent) has no key on this node") }
            print("revoked \(agent)'s key on this node")
        }
    }
}
