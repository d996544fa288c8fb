import MeshCore
import Crypto

/// Hashes for secrets that must be compared but never stored in clear (agent API keys).
public enum Hashing {
    /// Lower-case hex SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).hexString
    }
}
