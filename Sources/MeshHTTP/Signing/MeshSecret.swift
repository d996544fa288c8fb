import Crypto
import Foundation

/// The shared secret that authenticates node-to-node requests and answers.
///
/// It is read from an environment variable named in the config (never from the config file
/// itself), held only in memory, and never logged: `description` is redacted.
public struct MeshSecret: Sendable, CustomStringConvertible {
    let key: SymmetricKey

    public init(_ secret: String) {
        key = SymmetricKey(data: Array(secret.utf8))
    }

    /// Reads the secret from `variable`; nil when unset or empty.
    public static func fromEnvironment(_ variable: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> MeshSecret? {
        guard let value = environment[variable], !value.isEmpty else { return nil }
        return MeshSecret(value)
    }

    public var description: String { "MeshSecret(redacted)" }
}
