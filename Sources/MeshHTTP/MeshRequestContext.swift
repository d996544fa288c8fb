import MeshCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context every DAGI HTTP route uses: the peer's address (for the open-localhost
/// policy), the request id (echoed as `x-request-id` and put in every error body), and the
/// authenticated caller once middleware has resolved it.
public struct MeshRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer of the connection.
    public let remoteAddress: SocketAddress?
    /// Set by ``RequestIDMiddleware``.
    public var requestID: String = ""
    /// The agent the request acts for, once authenticated.
    public var agent: String?
    /// Set when the request came from a peer node, authenticated with the mesh secret.
    public var peerNode: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are collected by each route with its own bound; this applies to the rest.
    public var maxUploadSize: Int { 8 << 20 }

    /// Whether the request comes from this machine and was addressed to it as such (see
    /// ``LocalCaller``): what "this machine" privileges (administration, open_localhost) need.
    public func isLocal(_ request: Request) -> Bool {
        LocalCaller.isLocal(remote: remoteAddress, request: request.head)
    }
}

/// Who counts as "this machine". The TCP peer must be on the loopback interface, and the
/// request addressed to a loopback name: a web page whose own domain was made to resolve to
/// 127.0.0.1 (DNS rebinding) sends its domain as `Host`, and a page posting across sites sends
/// its `Origin` — both get no more trust than a stranger.
public enum LocalCaller {
    public static func isLocal(remote: SocketAddress?, request: HTTPRequest) -> Bool {
        guard remote?.isLoopback ?? false else { return false }
        if let host = request.authority, !isLoopbackName(authority: host) { return false }
        if let origin = request.headerFields[.origin] {
            // scheme://host[:port]; "null" (a sandboxed or file page) is not this machine either.
            guard let scheme = origin.range(of: "://"), isLoopbackName(authority: String(origin[scheme.upperBound...])) else { return false }
        }
        return true
    }

    /// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
    static func isLoopbackName(authority: String) -> Bool {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<close] == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

extension SocketAddress {
    /// Whether the address is on this machine's loopback interface (or a Unix socket).
    public var isLoopback: Bool {
        switch self {
        case .v4(let address):
            return address.address.sin_addr.s_addr.bigEndian >> 24 == 127
        case .v6:
            return ipAddress == "::1" || ipAddress?.hasPrefix("::ffff:127.") == true
        case .unixDomainSocket:
            return true
        }
    }
}
