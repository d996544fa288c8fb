import Logging
import MeshHTTP
import MeshStore

/// What Sync warns about at a bounded rate (see ``RateLimitedLog``).
enum SyncWarning: Hashable, Sendable { case answer, change, request }

typealias SyncLog = RateLimitedLog<SyncWarning>

extension RateLimitedLog where Kind == SyncWarning {
    /// One line for the changes a batch from `peer` had refused, if any.
    func refusals(_ result: ApplyResult, from peer: String) {
        guard let first = result.refusals.first else { return }
        let reasons = result.refused.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: ",")
        warning(.change, "refused \(result.refusedCount) change(s) from a peer [\(reasons)], first: \(first)", metadata: ["peer": .string(peer)])
    }
}
