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
