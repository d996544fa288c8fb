/// Where an upstream lives: scheme, host and port, parsed once from a base URL such as
/// `http://127.0.0.1:5801` or `https://api.anthropic.com`.
struct UpstreamTarget: Hashable, Sendable, CustomStringConvertible {
    var tls: Bool
    var host: String
    var port: Int
    /// A path prefix the base URL carried (`https://api.deepseek.com/v1` → `/v1`), no trailing slash.
    var pathPrefix: String

    init(tls: Bool, host: String, port: Int, pathPrefix: String = "") {
        self.tls = tls
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
    }

    /// Parses `http[s]://host[:port][/prefix]`; nil for anything else.
    init?(baseURL: String) {
        let tls: Bool
        var rest: Substring
        if baseURL.hasPrefix("http://") {
            tls = false
            rest = baseURL.dropFirst(7)
        } else if baseURL.hasPrefix("https://") {
            tls = true
            rest = baseURL.dropFirst(8)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" }
        rest = rest.dropFirst(authority.count)
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        var host = authority
        var port = tls ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else { return nil }
                port = parsed
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else { return nil }
            host = authority[..<colon]
            port = parsed
        }
        guard !host.isEmpty else { return nil }
        self.init(tls: tls, host: String(host), port: port, pathPrefix: String(rest))
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return (tls && port == 443) || (!tls && port == 80) ? name : "\(name):\(port)"
    }

    /// Identifies a pool of connections to this place.
    var poolKey: String { "\(tls ? "https" : "http")://\(host):\(port)" }

    var description: String { poolKey + pathPrefix }
}
