import ArgumentParser

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dagi-bench",
        abstract: "Benchmark workloads for DAGI Mesh (driven by scripts/bench-*).",
        subcommands: [SeedStatus.self, SeedChanges.self, TimeCommand.self, MockUpstream.self, MiniProxy.self, JSONReaders.self]
    )
}
