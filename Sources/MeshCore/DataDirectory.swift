import Foundation

/// Where a node keeps its store, and what it is called when nobody says.
public enum DataDirectory {
    /// `explicit` (a flag or config value) if given, else `$DAGI_HOME`, else the platform's
    /// user data directory: `~/Library/Application Support/dagi` on macOS,
    /// `$XDG_DATA_HOME/dagi` or `~/.local/share/dagi` elsewhere.
    public static func resolve(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return expandTilde(explicit, environment: environment) }
        if let home = environment["DAGI_HOME"], !home.isEmpty { return expandTilde(home, environment: environment) }
        let userHome = environment["HOME"] ?? NSHomeDirectory()
        #if os(macOS)
        return userHome + "/Library/Application Support/dagi"
        #else
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/dagi" }
        return userHome + "/.local/share/dagi"
        #endif
    }

    static func expandTilde(_ path: String, environment: [String: String]) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        return (environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst()
    }

    /// The default node id: the host name's first label, cleaned to the id alphabet.
    public static func defaultNodeID() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let raw = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "node"
        let label = raw.split(separator: ".").first.map(String.init) ?? raw
        let cleaned = String(label.map { MeshName.isValid(String($0)) ? $0 : "-" }.prefix(64))
        return cleaned.isEmpty ? "node" : cleaned
    }
}
