import Crypto
import MeshHTTP

/// The identity of an answer in the cache: a SHA-256 over the normalised request (see
/// ``CacheDirective/key(endpoint:compat:stream:scope:body:)``).
struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// 64 lowercase hex digits (the cache file's key).
    let hex: String

    /// A key read back from the cache file: nil unless 64 lowercase hex digits.
    init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.hex = hex
    }

    init(digest: SHA256.Digest) {
        hex = digest.hexString
    }

    var description: String { String(hex.prefix(12)) }
}
