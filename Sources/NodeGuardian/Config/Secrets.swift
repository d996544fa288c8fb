import Foundation
import MeshCore

/// Secrets the node reads from its environment — the admin token, agents' keys — never from a
/// file, never logged. One too short to resist guessing stops start-up.
enum Secrets {
    static let minimumLength = 32

    /// The value of `variable` (nil when unset or empty). Throws a ``ConfigError`` naming
    /// `setting` when it is shorter than ``minimumLength``.
    static func token(
        _ variable: String, purpose setting: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String? {
        guard let value = environment[variable], !value.isEmpty else { return nil }
        guard value.utf8.count >= minimumLength else {
            throw ConfigError(file: "<environment>", issues: [.init(
                path: setting, line: nil,
                message: "$\(variable) is shorter than \(minimumLength) characters; use a random one, e.g. `openssl rand -hex 24`"
            )])
        }
        return value
    }
}
