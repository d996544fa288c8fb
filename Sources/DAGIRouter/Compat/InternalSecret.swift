import HTTPTypes
import MeshHTTP

/// The `X-Internal-Secret` the replaced services' callers send, held as its digest and compared
/// without an early exit. Short secrets are accepted (the services being replaced used ones
/// like `dev-secret-token`); start-up warns about them.
public struct InternalSecret: Sendable {
    private let digest: [UInt8]
    public let isShort: Bool

    public init?(_ value: String?) {
        guard let value, !value.isEmpty else { return nil }
        digest = Array(Hashing.sha256Hex(value).utf8)
        isShort = value.utf8.count < 32
    }

    func matches(_ given: String) -> Bool {
        // Nothing legitimate is longer; hashing a huge header is work for nothing.
        guard given.utf8.count <= 4096 else { return false }
        let candidate = Array(Hashing.sha256Hex(given).utf8)
        return zip(candidate, digest).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static let header = HTTPField.Name("x-internal-secret")!
}
