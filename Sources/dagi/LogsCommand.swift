import ArgumentParser
import Foundation
import MeshHTTP

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a Swapper model server's recent output on this node.",
        discussion: """
            Examples:
              dagi logs smollm2           # its last 100 lines
              dagi logs smollm2 -n 20 -f  # the last 20, then new lines as they come (Ctrl-C stops)
            """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The model (name or alias).") var model: String
    @Option(name: .shortAndLong, help: "Lines to print first.") var lines = 100
    @Flag(name: .shortAndLong, help: "Keep printing new lines.") var follow = false

    func validate() throws {
        guard (0...100_000).contains(lines) else { throw ValidationError("-n must be 0...100000") }
    }

    func run() async throws {
        let client = try await store.guardian()
        let path = "/swapper/logs/" + (model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? model)
        var seen: [Substring] = []
        do {
            // The same window as the follow reads, so the two overlap; the last -n of it printed.
            seen = try await client.text(path + "?tail=500").split(separator: "\n")
            for line in seen.suffix(lines) { print(line) }
            fflush(nil)
            while follow {
                try await Task.sleep(for: .seconds(1))
                let now = try await client.text(path + "?tail=500").split(separator: "\n")
                for line in Self.added(after: seen, in: now) { print(line) }
                fflush(nil)
                seen = now
            }
        } catch let failure as JSONClient.Failure {
            throw ValidationError(failure.description)
        }
    }

    /// The lines of `now` past its overlap with the end of `before` (the server keeps a window
    /// of lines, so the two share a run of them).
    static func added(after before: [Substring], in now: [Substring]) -> ArraySlice<Substring> {
        for overlap in stride(from: min(before.count, now.count), to: 0, by: -1)
        where before.suffix(overlap).elementsEqual(now.prefix(overlap)) {
            return now.dropFirst(overlap)
        }
        return now[...]
    }
}
