import ArgumentParser
import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List this node's sync peers with reachability, lag and last error; add or remove peers.",
        subcommands: [List.self, Add.self, Remove.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List peers (the default).", discussion: "Examples:\n  dagi peers\n  dagi peers list --json")
        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let store = try store.openStore()
            let report = PeersReport(try await store.peers(), now: HybridLogicalClock.systemMilliseconds())
            if json {
                try Output.printJSON(report)
            } else {
                print(PeersReport.render(report, color: Output.useColor))
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a peer; a running guardian picks it up within one sync interval.", discussion: "Example:\n  dagi peers add http://10.0.0.2:7007")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The peer's URL, e.g. http://10.0.0.2:7007") var url: String

        func run() async throws {
            guard let parsed = HTTPURL(parsing: url) else { throw ValidationError("invalid peer URL \"\(url)\" (use http://HOST:PORT)") }
            try await store.openStore().addPeer(url: parsed.base, source: .cli)
            print("added \(parsed.base)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a peer (config peers come back on the next start).", discussion: "Example:\n  dagi peers remove http://10.0.0.2:7007")
        @OptionGroup var store: StoreOptions
        @Argument var url: String

        func run() async throws {
            let base = HTTPURL(parsing: url)?.base ?? url
            guard try await store.openStore().removePeer(url: base) else { throw ValidationError("no peer \(base)") }
            print("removed \(base)")
        }
    }
}
