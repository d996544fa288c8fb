import Foundation
import Logging

/// Kills model processes a crashed guardian left running, identified by the pid recorded in
/// the store and confirmed by the process's command line (a reused pid is left alone).
enum OrphanReaper {
    static func reap(pid: pid_t, expecting program: String?, logger: Logger) {
        guard pid > 1, kill(pid, 0) == 0 else { return }
        #if os(Linux)
        guard let program,
              let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
              cmdline.split(separator: "\0").first.map({ ($0 as NSString).lastPathComponent == (program as NSString).lastPathComponent }) == true
        else { return }
        logger.warning("killing a model process left by a previous run", metadata: ["pid": "\(pid)"])
        kill(-pid, SIGTERM)
        for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
        kill(-pid, SIGKILL)
        #endif
    }
}
