import Foundation
import MeshCore

/// Reads NVIDIA GPU utilisation and VRAM through `nvidia-smi`, when it is installed.
///
/// Looks for the binary once; machines without it never pay for a process spawn.
public struct GPUSampler: Sendable {
    let executable: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        executable = ExecutableSearch.find("nvidia-smi", path: environment["PATH"] ?? "/usr/bin:/bin")
    }

    public var isAvailable: Bool { executable != nil }

    /// One reading, or nil without NVIDIA GPUs (or when `nvidia-smi` fails or hangs).
    public func sample() async -> GPUSnapshot? {
        guard let executable else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--query-gpu=utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        // A wedged driver can make nvidia-smi hang: give it five seconds.
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(5))
            if process.isRunning { process.terminate() }
        }
        // Wait for exit without blocking a concurrency thread; the output is a few lines, well
        // within the pipe's buffer, so it is read after the process ends.
        let exited: Void? = await withCheckedContinuation { continuation in
            process.terminationHandler = { _ in continuation.resume(returning: ()) }
            do { try process.run() } catch { continuation.resume(returning: nil) }
        }
        guard exited != nil else { return nil }
        watchdog.cancel()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0 else { return nil }
        return Self.parse(String(decoding: data, as: UTF8.self))
    }

    /// Parses lines of `util, used MiB, total MiB`.
    static func parse(_ output: String) -> GPUSnapshot? {
        var count = 0, util = 0.0, used: Int64 = 0, total: Int64 = 0
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 3, let u = Double(fields[0]), let m = Int64(fields[1]), let t = Int64(fields[2]) else { continue }
            count += 1
            util += u
            used += m << 20
            total += t << 20
        }
        guard count > 0 else { return nil }
        return GPUSnapshot(count: count, utilPercent: util / Double(count), vramUsed: used, vramTotal: total)
    }
}
