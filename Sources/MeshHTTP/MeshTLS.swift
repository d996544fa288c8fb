import NIOSSL

/// TLS for the node's port and for its connections to peers, from PEM files.
///
/// Without TLS, prompts and answers cross the network in clear: a mesh on an untrusted network
/// runs with a certificate per node signed by its own CA (`node.tls`, `mesh.ca`), or inside
/// WireGuard or Tailscale.
public enum MeshTLS {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The server side: the node's certificate chain and key.
    public static func server(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw Failure(description: "\(certificate) holds no certificate") }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            configuration.minimumTLSVersion = .tlsv12
            return configuration
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "cannot load the node's TLS certificate or key: \(error)")
        }
    }

    /// The client side for a node calling itself on loopback (its batch runner): its own
    /// certificate — or the mesh CA that signed it — is the trust root, and the name is not
    /// checked (the certificate names the node's LAN address, not 127.0.0.1).
    public static func loopbackClient(certificate: String, caFile: String?) throws -> TLSConfiguration {
        var configuration = try client(caFile: caFile ?? certificate)
        configuration.certificateVerification = .noHostnameVerification
        return configuration
    }

    /// The client side for peers: verified against the mesh CA when one is given (a private
    /// mesh), else against the system's roots.
    public static func client(caFile: String?) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw Failure(description: "\(caFile) holds no certificate") }
                configuration.trustRoots = .certificates(roots)
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(description: "cannot load the mesh CA \(caFile): \(error)")
            }
        }
        return configuration
    }
}
