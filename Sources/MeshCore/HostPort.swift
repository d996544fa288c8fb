/// A listen address written as `HOST:PORT` (`127.0.0.1:7007`, `[::1]:7007`, `0.0.0.0:7007`).
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; returns nil when either part is missing or the port is out of range.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The base URL a peer on the network would use to reach this address. A wildcard host
    /// (`0.0.0.0`, `::`) is replaced by `advertisedHost` since nobody can connect to it.
    public func baseURL(advertisedHost: String, tls: Bool = false) -> String {
        let reachable = (host == "0.0.0.0" || host == "::") ? advertisedHost : host
        return (tls ? "https://" : "http://") + HostPort(host: reachable, port: port).description
    }
}

extension HostPort: ConfigScalar {
    public static var expectedForm: String { "listen address (use HOST:PORT, e.g. 127.0.0.1:7007)" }
}
