import Foundation

/// A certificate authority for one test, made with the `openssl` command line in a temporary
/// directory: a CA certificate and node certificates it signs, valid for 127.0.0.1.
struct TestCA {
    let directory: String
    let name: String
    /// The CA certificate (PEM), what `mesh.ca` points to.
    var certificate: String { directory + "/\(name)-ca.pem" }
    private var key: String { directory + "/\(name)-ca.key" }

    /// Creates the CA `name` in `directory`.
    static func make(_ name: String, in directory: String) async throws -> TestCA {
        let ca = TestCA(directory: directory, name: name)
        try await openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=DAGI test CA \(name)", "-keyout", ca.key, "-out", ca.certificate,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        return ca
    }

    /// A certificate and key for `node`, signed by this CA, for `IP:127.0.0.1` and `localhost`.
    func issue(_ node: String) async throws -> (cert: String, key: String) {
        let base = directory + "/\(name)-\(node)"
        let extensions = base + ".ext"
        try """
            subjectAltName=IP:127.0.0.1,DNS:localhost
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth,clientAuth
            """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try await Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(node)",
            "-keyout", base + ".key", "-out", base + ".csr",
        ])
        try await Self.openssl([
            "x509", "-req", "-in", base + ".csr", "-CA", certificate, "-CAkey", key, "-CAcreateserial", "-days", "2",
            "-extfile", extensions, "-out", base + ".pem",
        ])
        return (base + ".pem", base + ".key")
    }

    private static func openssl(_ arguments: [String]) async throws {
        let (status, _, err) = try await Binaries.runPath("/usr/bin/env", ["openssl"] + arguments)
        guard status == 0 else { throw TestFailure("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(err)") }
    }
}
