import ArgumentParser
import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every node's models with their state (from the local replica).",
        discussion: "Examples:\n  dagi models\n  dagi models --json"
    )

    @OptionGroup var store: StoreOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let store = try store.openStore()
        let report = StatusReport(try store.stateNow(), now: HybridLogicalClock.systemMilliseconds())
        if json {
            try Output.printJSON(["models": report.models])
        } else {
            print(StatusRenderer.renderModels(report, color: Output.useColor))
        }
    }
}

struct Unload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unload a model (Swapper or Ollama) on this node, or all Swapper models.",
        discussion: "Examples:\n  dagi unload smollm2\n  dagi unload --all"
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The model (name or alias).") var model: String?
    @Flag(name: .long, help: "Unload every Swapper model.") var all = false

    func validate() throws {
        guard (model == nil) == all else { throw ValidationError("give a model, or --all") }
    }

    func run() async throws {
        let client = try await store.guardian()
        do {
            let answer = try await client.post("/swapper/unload", model.map { ["model": .string($0)] } ?? [:])
            let names = answer["unloaded"]?.arrayValue?.compactMap(\.stringValue) ?? []
            print(names.isEmpty ? "nothing was loaded" : "unloaded \(names.joined(separator: ", "))")
        } catch let failure as JSONClient.Failure {
            throw ValidationError(failure.description)
        }
    }
}
