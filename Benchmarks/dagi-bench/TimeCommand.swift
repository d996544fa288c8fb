import ArgumentParser
import Foundation

/// Runs a command many times and prints its wall-time distribution, after a warm-up run.
struct TimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "time", abstract: "Time repeated runs of a command.")

    @Option var runs = 30
    @Option var label = "command"
    @Argument(parsing: .captureForPassthrough) var command: [String]

    func run() async throws {
        let command = self.command.first == "--" ? Array(self.command.dropFirst()) : self.command
        guard let executable = command.first else { throw ValidationError("give a command after --") }
        var times: [Double] = []
        for iteration in 0...runs {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = Array(command.dropFirst())
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let start = ContinuousClock.now
            try process.run()
            process.waitUntilExit()
            let elapsed = ContinuousClock.now - start
            guard process.terminationStatus == 0 else { throw ValidationError("\(label) exited with \(process.terminationStatus)") }
            if iteration > 0 { times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000) }
        }
        times.sort()
        let p50 = times[times.count / 2], p95 = times[min(times.count - 1, times.count * 95 / 100)]
        print(String(format: "%@: p50 %.1f ms  p95 %.1f ms  min %.1f ms  (%d runs)", label, p50, p95, times[0], times.count))
        print(String(format: "RESULT %@ p50_ms=%.2f", label, p50))
    }
}
