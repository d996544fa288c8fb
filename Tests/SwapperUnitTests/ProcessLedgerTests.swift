import Foundation
import Testing
@testable import Swapper

@Suite struct ProcessLedgerTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "ledger-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func entry(_ pid: Int32, start: UInt64 = 7, boot: String = "boot-a", command: [String] = ["/bin/llama", "-m", "x"]) -> ProcessLedger.Entry {
        .init(model: "m", pid: pid, startTime: start, boot: boot, command: command)
    }

    @Test func aNewRunReadsWhatThePreviousRunLeft() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = ProcessLedger(directory: dir)
        #expect(first.add(Self.entry(100)) == nil)
        first.add(Self.entry(200))
        first.confirm(pid: 200, running: ["llama-server", "-m", "x"])
        first.remove(pid: 100)
        // The previous run was killed here: a new ledger on the same directory reads its file.
        let second = ProcessLedger(directory: dir)
        let left = second.previousEntries()
        #expect(left.map(\.pid) == [200])
        #expect(left.first?.running == ["llama-server", "-m", "x"])
        second.reset()
        #expect(ProcessLedger(directory: dir).previousEntries().isEmpty)
    }

    @Test func aDamagedFileReadsAsEmpty() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = ProcessLedger(directory: dir)
        try Data("{\"processes\": [".utf8).write(to: URL(fileURLWithPath: ledger.path))
        #expect(ledger.previousEntries().isEmpty)
        try Data(repeating: 0x20, count: ProcessLedger.maxFileBytes + 1).write(to: URL(fileURLWithPath: ledger.path))
        #expect(ledger.previousEntries().isEmpty)
        try Data("{\"version\":1,\"processes\":[{\"model\":\"m\",\"pid\":1,\"startTime\":1,\"boot\":\"b\",\"command\":[\"x\"]}]}".utf8)
            .write(to: URL(fileURLWithPath: ledger.path))
        #expect(ledger.previousEntries().isEmpty, "pid 1 (init) is never a model")
    }

    @Test func theReaperTrustsOnlyAMatchingIdentity() {
        let entry = Self.entry(300, start: 42, boot: "boot-a")
        let live = ["/bin/llama", "-m", "x"]
        #expect(OrphanReaper.mismatch(entry, boot: "boot-a", startTime: 42, commandLine: live) == nil)
        #expect(OrphanReaper.mismatch(entry, boot: "boot-b", startTime: 42, commandLine: live) != nil, "another boot")
        #expect(OrphanReaper.mismatch(entry, boot: "boot-a", startTime: 43, commandLine: live) != nil, "the pid was reused")
        #expect(OrphanReaper.mismatch(entry, boot: "boot-a", startTime: nil, commandLine: live) != nil, "gone")
        #expect(OrphanReaper.mismatch(entry, boot: "boot-a", startTime: 42, commandLine: ["/usr/bin/vim"]) != nil)
        // A #! script shows its interpreter first; the recorded arguments still end its command line.
        #expect(OrphanReaper.mismatch(entry, boot: "boot-a", startTime: 42, commandLine: ["/bin/sh"] + live) == nil)
        // A wrapper that exec'd the server matches the command line seen once it was ready.
        var confirmed = Self.entry(300, start: 42, boot: "boot-a", command: ["/bin/sh", "-c", "exec server"])
        confirmed.running = ["server", "--port", "1"]
        #expect(OrphanReaper.mismatch(confirmed, boot: "boot-a", startTime: 42, commandLine: ["server", "--port", "1"]) == nil)
        #expect(OrphanReaper.mismatch(confirmed, boot: "boot-a", startTime: 42, commandLine: ["other"]) != nil)
    }

    #if os(Linux)
    /// A real process recorded as ours is stopped; one whose recorded start time differs (its
    /// pid was given to another program) is left alone.
    @Test func theReaperStopsOnlyItsOwnProcesses() async throws {
        let ours = try Self.sleeper(), stranger = try Self.sleeper()
        defer {
            kill(stranger.processIdentifier, SIGKILL)
            kill(ours.processIdentifier, SIGKILL)
        }
        func recorded(_ process: Process, startShift: UInt64) throws -> ProcessLedger.Entry {
            let pid = process.processIdentifier
            return .init(
                model: "m", pid: pid, startTime: try #require(ProcessInspector.startTime(of: pid)) + startShift,
                boot: try #require(ProcessInspector.bootID()), command: try #require(ProcessInspector.commandLine(of: pid))
            )
        }
        let outcome = OrphanReaper.reapNow([try recorded(ours, startShift: 0), try recorded(stranger, startShift: 1)], grace: .milliseconds(300))
        #expect(outcome.stopped.map(\.pid) == [ours.processIdentifier])
        #expect(outcome.skipped.map(\.entry.pid) == [stranger.processIdentifier])
        #expect(!ProcessInspector.isAlive(ours.processIdentifier))
        #expect(ProcessInspector.isAlive(stranger.processIdentifier))
    }

    /// A `sleep 300`, returned once it has exec'd (mid-exec its command line reads empty).
    static func sleeper() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["300"]
        try process.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while ProcessInspector.commandLine(of: process.processIdentifier) != ["/bin/sleep", "300"] {
            guard ContinuousClock.now < deadline else { throw ProcessLauncherTests.PollTimeout(what: "sleep to start") }
            usleep(1000)
        }
        return process
    }
    #endif
}
