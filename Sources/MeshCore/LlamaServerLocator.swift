import Foundation

/// Where llama-server is, for models that name none: `$DAGI_LLAMA_SERVER`, then `PATH`, then
/// the cache the project's scripts fill (`$DAGI_CACHE`, else `~/.cache/dagi-mesh`).
public enum LlamaServerLocator {
    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let given = environment["DAGI_LLAMA_SERVER"], !given.isEmpty {
            return FileManager.default.isExecutableFile(atPath: given) ? given : nil
        }
        if let found = ExecutableSearch.find("llama-server", path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") {
            return found
        }
        let cache: String
        if let dagi = environment["DAGI_CACHE"], !dagi.isEmpty {
            cache = dagi
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            cache = xdg + "/dagi-mesh"
        } else {
            cache = (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/dagi-mesh"
        }
        let builds = ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? [])
            .filter { $0.hasPrefix("llama-server-") }
            // Newest version first, compared as numbers (11434.0.0 after 9999.0.0).
            .sorted { $0.compare($1, options: .numeric) == .orderedDescending }
        return builds.lazy.map { "\(cache)/\($0)/bin/llama-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
