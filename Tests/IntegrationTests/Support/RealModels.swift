import Foundation

/// The real components the model tests drive: `llama-server` built from the PyPI sdist, the two
/// tiny GGUF models, and the venv with the official Python clients — all installed and cached by
/// `scripts/test` (`scripts/build-llama-server`, `scripts/fetch-models`, `scripts/setup-python`).
enum RealModels {
    static var cache: String {
        let env = ProcessInfo.processInfo.environment
        return env["DAGI_CACHE"] ?? ((env["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")) + "/dagi-mesh")
    }

    static func llamaServer() throws -> String {
        try existing(ProcessInfo.processInfo.environment["DAGI_LLAMA_SERVER"] ?? cache + "/llama-server-11434.0.0/bin/llama-server")
    }

    static func smollm2() throws -> String { try existing(cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf") }
    static func gemma() throws -> String { try existing(cache + "/models/gemma-3-270m-q4_k_m.gguf") }
    static func python() throws -> String { try existing(ProcessInfo.processInfo.environment["DAGI_PYTHON"] ?? cache + "/venv-clients/bin/python") }

    /// The repository's root (for scripts/fixtures).
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    private static func existing(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestFailure("\(path) is missing: run scripts/test, which builds llama-server and fetches the models and clients once")
        }
        return path
    }

    /// A `swapper:` section serving SmolLM2 alone as `name`, on a llama-server started with
    /// `flags` (its slots, its context), and `extra` keys of the model.
    static func smolSwapper(_ name: String, flags: String, extra: String = "") throws -> String {
        """
            swapper:
              start_port: \(20000 + Int.random(in: 0..<20000))
              health_check_timeout: 60s
              stop_timeout: 5s
              models:
                \(name):
                  cmd: \(try llamaServer()) -m \(try smollm2()) --port ${PORT} --host 127.0.0.1 -t 1 \(flags)
            \(extra)
            """
    }

    /// A swapper config section with SmolLM2 and Gemma 3 270M on one thread each.
    /// - Parameter settings: more keys of the section, each line indented by two spaces
    ///   (e.g. `"  memory_budget: 600MiB"`).
    static func swapperSection(
        ttl: String? = nil, exclusive: Bool = false, extraModels: String = "", startPort: Int = 0, settings: String = ""
    ) throws -> String {
        let port = startPort > 0 ? startPort : 20000 + Int.random(in: 0..<20000)
        var yaml = """
            swapper:
              start_port: \(port)
              health_check_timeout: 60s
              stop_timeout: 5s
            \(settings)
              macros:
                LLAMA: \(try llamaServer())
              models:
                smollm2:
                  cmd: ${LLAMA} -m ${MODEL_PATH} --port ${PORT} --host 127.0.0.1 -t 1 -c 1024 --parallel 4
                  model_path: \(try smollm2())
                  memory: 300MiB
                  aliases: [tiny]\(ttl.map { "\n      ttl: \($0)" } ?? "")
                gemma:
                  cmd: ${LLAMA} -m ${MODEL_PATH} --port ${PORT} --host 127.0.0.1 -t 1 -c 1024 --parallel 2
                  model_path: \(try gemma())
                  memory: 400MiB
            \(extraModels)
            """
        if exclusive {
            yaml += "\n  groups:\n    small: { members: [smollm2, gemma], exclusive: true }\n"
        }
        return yaml
    }
}

/// The process table, read from /proc (Linux).
enum ProcessTable {
    struct Entry: Equatable {
        let pid: Int32
        let parent: Int32
        let name: String
    }

    static func entries() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name in
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let parent = Int32(fields[1]), fields[0] != "Z" else { return nil }
            return Entry(pid: pid, parent: parent, name: String(stat[stat.index(after: open)..<close]))
        }
    }

    /// Live (not zombie) `llama-server` processes whose parent is `parent`.
    static func llamaServers(childrenOf parent: Int32) -> [Entry] {
        entries().filter { $0.parent == parent && $0.name.hasPrefix("llama-server") }
    }

    static func isAlive(_ pid: Int32) -> Bool { entries().contains { $0.pid == pid } }
}
