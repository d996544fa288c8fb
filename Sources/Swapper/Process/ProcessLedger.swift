import Foundation
import Synchronization

/// The model processes this node started and has not yet seen exit, in a small file of its
/// data directory, so that after a crash the next start stops exactly those and nothing else.
///
/// Each entry identifies its process beyond the pid, which the system reuses: the boot, the
/// start time (fixed for the process's life) and the command. Not in the store: the store
/// replicates, and no row a peer can write may choose what this node kills.
///
/// The file is rewritten whole and atomically (a temporary file, then `rename`), so a crash
/// mid-write leaves the previous version. Every method does file I/O synchronously: call them
/// from a dedicated thread (the spawn thread, a process's wait thread,
/// ``DedicatedThread/blockingIO``), never from the event loops.
final class ProcessLedger: Sendable {
    struct Entry: Codable, Sendable, Equatable {
        var model: String
        var pid: Int32
        /// ``ProcessInspector/startTime(of:)`` right after the fork.
        var startTime: UInt64
        /// ``ProcessInspector/bootID()`` when it was started.
        var boot: String
        /// The arguments it was started with.
        var command: [String]
        /// Its command line once it answered its health check (a script that `exec`s the server
        /// shows the server's by then).
        var running: [String]?
    }

    private struct File: Codable {
        var version = 1
        var processes: [Entry]
    }

    /// Bounds on a file read back (it lives on disk, where anything may have changed it).
    static let maxFileBytes = 1 << 20
    static let maxEntries = 4096

    let path: String
    /// The entries, and the lock that serialises writes of the file.
    private let entries = Mutex<[Int32: Entry]>([:])

    init(directory: String) {
        path = (directory as NSString).appendingPathComponent("swapper-processes.json")
    }

    /// Records a process just started. Returns an error message when the file cannot be written
    /// (the process runs anyway; it is only not reaped after a crash).
    @discardableResult
    func add(_ entry: Entry) -> String? {
        entries.withLock { entries in
            entries[entry.pid] = entry
            return write(entries)
        }
    }

    /// Records the command line of a process that became ready (if it is still recorded).
    @discardableResult
    func confirm(pid: Int32, running: [String]) -> String? {
        entries.withLock { entries in
            guard entries[pid] != nil else { return nil }
            entries[pid]?.running = running
            return write(entries)
        }
    }

    /// Forgets a process that exited.
    @discardableResult
    func remove(pid: Int32) -> String? {
        entries.withLock { entries in
            guard entries.removeValue(forKey: pid) != nil else { return nil }
            return write(entries)
        }
    }

    /// The entries a previous run left in the file (malformed or oversized files read as empty).
    func previousEntries() -> [Entry] {
        // Read with a bound: never more than one byte past the limit, whatever the file's size.
        guard let bytes = ProcessInspector.readBytes(path, limit: Self.maxFileBytes + 1), bytes.count <= Self.maxFileBytes,
              let file = try? JSONDecoder().decode(File.self, from: Data(bytes))
        else { return [] }
        return Array(file.processes.filter { $0.pid > 1 }.prefix(Self.maxEntries))
    }

    /// Replaces the file with this run's entries (none yet): the previous run's are dealt with.
    @discardableResult
    func reset() -> String? {
        entries.withLock { write($0) }
    }

    private func write(_ entries: [Int32: Entry]) -> String? {
        let file = File(processes: entries.values.sorted { $0.pid < $1.pid })
        do {
            let data = try JSONEncoder().encode(file)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            return nil
        } catch {
            return "cannot write \(path): \(error.localizedDescription)"
        }
    }
}
