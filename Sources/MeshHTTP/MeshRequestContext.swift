import MeshCore
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

    /// Whether the connection comes from this machine's loopback interface.
    public var isLoopback: Bool { remoteAddress?.isLoopback ?? false }
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
