import Foundation
import MeshCore
import Synchronization

/// A fake cloud provider (scripts/fixtures/fake_provider.py) on a free loopback port: OpenAI's,
/// Anthropic's or Gemini's wire format, deterministic answers and usage, and a control API to
/// make it fail. Stopped with ``stop()`` or when the test's process table is cleaned.
final class FakeProvider: @unchecked Sendable {
    let kind: String
    let key: String
    private(set) var baseURL = ""
    private let process = Process()

    /// - Parameter deepseek: an OpenAI-kind server that answers as DeepSeek does
    ///   (`reasoning_content`, `prompt_cache_hit_tokens`).
    init(kind: String, key: String, deepseek: Bool = false) async throws {
        self.kind = kind
        self.key = key
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", RealModels.repository + "/scripts/fixtures/fake_provider.py", "--kind", kind, "--port", "0", "--key", key] + (deepseek ? ["--deepseek"] : [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let seen = Mutex("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            seen.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        try await poll(timeout: .seconds(15), "the fake \(kind) provider to listen") {
            seen.withLock { $0.contains("listening on ") && $0.contains("\n") }
        }
        // Whatever it prints later is read and dropped: a full pipe would block it mid-answer.
        output.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        let line = seen.withLock { $0 }.split(separator: "\n").first { $0.hasPrefix("listening on ") } ?? ""
        baseURL = String(line.dropFirst("listening on ".count))
    }

    /// Changes how it answers (see the script's `/_control`).
    func control(_ settings: JSONValue) async throws {
        let reply = try await HTTP.post(baseURL + "/_control", json: settings)
        guard reply.status == 200 else { throw TestFailure("control \(kind): \(reply.status) \(reply.text)") }
    }

    /// Requests seen per path, and the last one.
    func stats() async throws -> JSONValue { try await HTTP.get(baseURL + "/_stats").json() }

    var requestCount: Int64 {
        get async throws { try await stats()["total"]?.intValue ?? 0 }
    }

    /// SIGKILL: the test process spawns it from a thread that blocks SIGTERM, and the child
    /// inherits that mask, so a polite signal would never arrive.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
