import CSpawn
import Foundation

/// What the system says about a process beyond its pid, which it reuses: when it started, in
/// which boot, its command line, whether it is still alive, how much memory it holds.
///
/// Linux reads `/proc`; macOS asks `sysctl` (through CSpawn). Every call reads the process table
/// synchronously, so callers run it on ``DedicatedThread/blockingIO`` or another thread of their
/// own, never on the node's event loops.
enum ProcessInspector {
    /// The process's start time, fixed for its whole life (exec included): on Linux clock ticks
    /// after boot (`/proc/PID/stat` field 22), on macOS microseconds since the epoch.
    static func startTime(of pid: pid_t) -> UInt64? {
        #if os(Linux)
        return readText("/proc/\(pid)/stat").flatMap(parseStat)?.startTime
        #elseif os(macOS)
        var start: UInt64 = 0, zombie: Int32 = 0
        return dagi_process_info(pid, &start, &zombie) == 0 ? start : nil
        #else
        return nil
        #endif
    }

    /// Whether `pid` is a live process (a zombie — exited, not yet reaped — is not).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        #if os(Linux)
        guard let stat = readText("/proc/\(pid)/stat").flatMap(parseStat) else { return false }
        return stat.state != "Z" && stat.state != "X"
        #elseif os(macOS)
        var start: UInt64 = 0, zombie: Int32 = 0
        return dagi_process_info(pid, &start, &zombie) == 0 && zombie == 0
        #else
        return kill(pid, 0) == 0
        #endif
    }

    /// The process's arguments as it sees them now (a script started through `#!` shows its
    /// interpreter first; a program that `exec`s another shows the other).
    static func commandLine(of pid: pid_t) -> [String]? {
        #if os(Linux)
        return readBytes("/proc/\(pid)/cmdline", limit: 64 << 10).flatMap(parseCommandLine)
        #elseif os(macOS)
        var buffer = [CChar](repeating: 0, count: 64 << 10)
        let length = dagi_process_args(pid, &buffer, buffer.count)
        guard length > 0 else { return nil }
        return parseCommandLine(buffer[0..<Int(length)].map { UInt8(bitPattern: $0) })
        #else
        return nil
        #endif
    }

    /// This boot's ID, read once (lazily: on the first dedicated thread that asks).
    static let currentBootID: String? = bootID()

    /// Identifies this boot of the machine, so a ledger from before a reboot is never trusted.
    static func bootID() -> String? {
        #if os(Linux)
        return readText("/proc/sys/kernel/random/boot_id")?.trimmingCharacters(in: .whitespacesAndNewlines)
        #elseif os(macOS)
        var boot: UInt64 = 0
        return dagi_boot_time(&boot) == 0 ? String(boot) : nil
        #else
        return nil
        #endif
    }

    /// Resident memory of the process in bytes (Linux; nil elsewhere or when gone).
    static func residentBytes(of pid: pid_t) -> Int64? {
        #if os(Linux)
        return readText("/proc/\(pid)/status").flatMap(parseResidentBytes)
        #else
        return nil
        #endif
    }

    // MARK: - Parsing (pure, unit-tested)

    /// The state letter (field 3) and start time (field 22) of a `/proc/PID/stat` line. The
    /// command name (field 2) may hold spaces and parentheses, so fields are counted from the
    /// *last* `)`.
    static func parseStat(_ text: String) -> (state: Character, startTime: UInt64)? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        guard fields.count > 19, let state = fields[0].first, fields[0].count == 1, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    /// `VmRSS:   1234 kB` from `/proc/PID/status`, in bytes.
    static func parseResidentBytes(_ status: String) -> Int64? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = line.split(separator: " ").dropFirst().compactMap({ Int64($0) }).first, kib >= 0
        else { return nil }
        let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
        return overflow ? nil : bytes
    }

    /// NUL-separated arguments (a trailing NUL or not).
    static func parseCommandLine(_ bytes: [UInt8]) -> [String]? {
        let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let trimmed = arguments.last == "" ? Array(arguments.dropLast()) : arguments
        return trimmed.isEmpty ? nil : trimmed
    }

    // MARK: - Reading

    /// Reads at most `limit` bytes of a file with plain `read(2)`: `/proc` files say they are
    /// empty, so anything that trusts the size reads nothing.
    static func readBytes(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while result.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, limit - result.count)) }
            if count > 0 {
                result.append(contentsOf: chunk[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return result
    }

    static func readText(_ path: String) -> String? {
        readBytes(path, limit: 64 << 10).map { String(decoding: $0, as: UTF8.self) }
    }
}
