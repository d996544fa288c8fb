import Foundation

/// Plain TCP for what HTTP clients will not do: pipelining, hanging up mid-answer, sending a
/// body slowly or not at all, holding connections open.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int, receiveTimeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("connect to \(port) failed")
        }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var noSignal: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &noSignal, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Closes the connection now (the peer sees an orderly close).
    func shutdown() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Sends bytes; false once the peer has closed (no SIGPIPE).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until `until` holds, the peer closes, or `timeout` passes; returns what came. The
    /// blocking reads run on a thread of their own: on a cooperative thread they would starve
    /// every other test's tasks (two threads on a two-core machine).
    func read(timeout: Duration = .seconds(10), until: @escaping @Sendable (String) -> Bool) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.readBlocking(timeout: timeout, until: until)) }
        }
    }

    private func readBlocking(timeout: Duration, until: (String) -> Bool) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
            if until(String(decoding: received, as: UTF8.self)) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the peer has closed the connection (reads what is pending without waiting).
    var isClosedByPeer: Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET || errno == EPIPE }
        }
    }
}

enum RawHTTP {
    /// An authenticated JSON POST, as bytes on the wire.
    static func post(_ path: String, _ json: String, key: String? = RouterTests.key, extraHeaders: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: x\r\n" + (key.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "Content-Type: application/json\r\n"
            + extraHeaders + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    /// Writes `send` on a new connection, reads until `until` holds (or 10 s pass), then closes.
    static func exchange(port: Int, send: String, until: @escaping @Sendable (String) -> Bool) async throws -> String {
        let connection = try RawConnection(port: port)
        connection.send(send)
        return await connection.read(until: until)
    }
}

/// Resident memory of a process, in bytes (Linux).
func residentBytes(of pid: Int32) -> Int64 {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kib = line.split(separator: " ").compactMap({ Int64($0) }).first
    else { return 0 }
    return kib * 1024
}
