import Foundation
import Logging

/// An async mutual-exclusion lock (FIFO), for critical sections that await.
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}


/// Whether a loopback TCP port can be bound right now.
enum PortProbe {
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// Facts about a model file for the store: its size and the quantization in its name.
enum ModelFile {
    static func size(_ path: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.int64Value
    }

    /// `Q4_1`, `Q4_K_M`, `F16`… as written in GGUF file names.
    static func quantization(_ path: String) -> String? {
        let name = (path as NSString).lastPathComponent.uppercased()
        let pattern = try! NSRegularExpression(pattern: "(IQ\\d[_A-Z0-9]*|Q\\d(_[0-9A-Z]+)*|F16|F32|BF16)(?=\\.GGUF$|[-_.])")
        let range = NSRange(name.startIndex..., in: name)
        guard let match = pattern.firstMatch(in: name, range: range), let found = Range(match.range(at: 1), in: name) else { return nil }
        return String(name[found])
    }
}

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
