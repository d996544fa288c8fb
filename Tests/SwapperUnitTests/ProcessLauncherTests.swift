import Foundation
import Synchronization
import Testing
@testable import Swapper

/// Process supervision below the actor: launching with a clean environment, output, exit,
/// the ledger, and a terminate that ends even a process ignoring SIGTERM.
@Suite struct ProcessLauncherTests {
    static func launcher(_ directory: String) -> ProcessLauncher {
        ProcessLauncher(
            globalMacros: [:], ports: 40000...40100, logLines: 100, ledger: ProcessLedger(directory: directory),
            guardianEnvironment: ["PATH": "/usr/bin:/bin", "DAGI_MESH_SECRET": "never-to-a-model"]
        )
    }

    static func model(_ cmd: String) -> SwapperModelConfig {
        var model = SwapperModelConfig(cmd: cmd)
        model.name = "m"
        return model
    }

    @Test func aProcessIsRecordedWhileItRunsAndReportsItsExit() async throws {
        let directory = try ProcessLedgerTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let launcher = Self.launcher(directory)
        let exitStatus = Mutex<Int32?>(nil)
        let gate = directory + "/exit-now"
        let script = "sh -c 'env; while [ ! -e \(gate) ]; do sleep 0.01; done; exit 3' ${PORT}"
        let launched = try await launcher.launch(Self.model(script), used: []) { status in
            exitStatus.withLock { $0 = status }
        }
        // Running: in the ledger, with the start time the system reports.
        let recorded = ProcessLedger(directory: directory).previousEntries()
        #expect(recorded.map(\.pid) == [launched.child.pid])
        #expect(recorded.first?.startTime == ProcessInspector.startTime(of: launched.child.pid))
        #expect(recorded.first?.command.first == "/bin/sh" || recorded.first?.command.first == "/usr/bin/sh")
        #expect(launcher.ports.contains(launched.port))
        #expect(launched.baseURL == "http://127.0.0.1:\(launched.port)")
        FileManager.default.createFile(atPath: gate, contents: nil)
        let status = try #require(await launched.child.waitForExit(until: .now + .seconds(10)))
        #expect(ChildProcess.describe(status) == "exited with status 3")
        let output = launched.child.output.tail().joined(separator: "\n")
        #expect(output.contains("PATH=/usr/bin:/bin"))
        #expect(!output.contains("DAGI_MESH_SECRET"), "the guardian's secrets stay home")
        try await pollUntil("the exit callback and the ledger update") {
            exitStatus.withLock { $0 } == status && ProcessLedger(directory: directory).previousEntries().isEmpty
        }
    }

    @Test func terminateEndsAProcessThatIgnoresSIGTERM() async throws {
        let directory = try ProcessLedgerTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let launched = try await Self.launcher(directory).launch(Self.model("sh -c 'trap \"\" TERM; echo ready; exec sleep 300' ${PORT}"), used: []) { _ in }
        try await pollUntil("the script to trap SIGTERM") { launched.child.output.tail().contains("ready") }
        // Before, the grace was raced against an uncancellable wait in a task group: it never
        // ended, and SIGKILL was never sent.
        #expect(await launched.child.terminate(grace: .milliseconds(200)))
        #expect(launched.child.hasExited)
        #expect(!ProcessInspector.isAlive(launched.child.pid))
    }

    @Test func aWaitForExitEndsAtItsDeadline() async throws {
        let directory = try ProcessLedgerTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let launched = try await Self.launcher(directory).launch(Self.model("sleep 300 ${PORT}"), used: []) { _ in }
        defer { launched.child.signalGroup(SIGKILL) }
        #expect(await launched.child.waitForExit(until: .now + .milliseconds(50)) == nil)
        #expect(!launched.child.hasExited)
    }

    @Test func aMissingCommandIsAClearFailure() async throws {
        let directory = try ProcessLedgerTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        await #expect(throws: ProcessLauncher.Failure.self) {
            _ = try await Self.launcher(directory).launch(Self.model("no-such-program-anywhere ${PORT}"), used: []) { _ in }
        }
    }

    /// Polls every 10 ms for at most 10 s: no fixed sleeps.
    func pollUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw PollTimeout(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct PollTimeout: Error { let what: String }
}
