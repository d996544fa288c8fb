import AsyncHTTPClient
import Foundation
import MeshStore
import NIOCore
import Synchronization

/// A real `node-guardian` process on a loopback port with its own data directory, for tests.
///
/// Use ``withGuardians(_:_:)`` so processes are always stopped, also when a test fails.
final class GuardianProcess: @unchecked Sendable {
    let nodeID: String
    let port: Int
    let dataDirectory: String
    let logPath: String
    var arguments: [String]
    var environment: [String: String]
    /// The address the node listens on (`0.0.0.0` to be reached from another interface).
    var listenHost = "127.0.0.1"
    /// For a node serving TLS: a client that trusts its CA (its URLs are then https).
    var tlsClient: HTTPClient?
    private(set) var process: Process?
    let cachedStore = Mutex<MeshStore?>(nil)

    var baseURL: String { "\(tlsClient == nil ? "http" : "https")://127.0.0.1:\(port)" }
    var client: HTTPClient { tlsClient ?? .shared }
    var storePath: String { MeshStore.databasePath(inDataDirectory: dataDirectory) }

    init(nodeID: String, root: String, port: Int? = nil, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.nodeID = nodeID
        self.port = try port ?? FreePort.allocate()
        self.dataDirectory = root + "/" + nodeID
        self.logPath = root + "/" + nodeID + ".log"
        self.arguments = arguments
        self.environment = environment
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    }

    /// Starts the process (again, after a stop or kill) and waits until `/health` answers.
    func start(timeout: Duration = .seconds(30)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.path("node-guardian"))
        process.arguments = ["run", "--node-id", nodeID, "--data-dir", dataDirectory, "--listen", "\(listenHost):\(port)"] + arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DAGI_HOME")
        env["DAGI_LOG_LEVEL"] = env["DAGI_LOG_LEVEL"] ?? "info"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        try await waitUntilHealthy(timeout: timeout)
    }

    func waitUntilHealthy(timeout: Duration) async throws {
        try await poll(timeout: timeout, "\(nodeID) /health") {
            guard let process = self.process, process.isRunning else {
                throw TestFailure("\(self.nodeID) exited during start-up:\n\(self.logTail())")
            }
            return (try? await HTTP.get(self.baseURL + "/health", client: self.client))?.status == 200
        }
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(20)) async throws -> Int32 {
        guard let process, process.isRunning else { return process?.terminationStatus ?? 0 }
        process.terminate()
        try await poll(timeout: timeout, "\(nodeID) to exit after SIGTERM") { !process.isRunning }
        return process.terminationStatus
    }

    func signal(_ signal: Int32) {
        if let process, process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// SIGKILL and wait for the exit.
    func kill9() async throws {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        try await poll(timeout: .seconds(10), "\(nodeID) to die") { !process.isRunning }
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// Best effort, for cleanup paths: resumes a stopped process and kills it.
    func forceKill() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func logTail(_ lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Opens this node's store file directly (read side; the guardian may be running).
    func openStore() throws -> MeshStore { try MeshStore.openExisting(path: storePath) }
}

/// Runs `body` with guardians, killing every one of them afterwards, whatever happens.
func withGuardians<T>(_ guardians: [GuardianProcess], _ body: () async throws -> T) async throws -> T {
    do {
        let result = try await body()
        guardians.forEach { $0.forceKill() }
        return result
    } catch {
        for guardian in guardians {
            print("---- \(guardian.nodeID) log ----\n\(guardian.logTail())")
            guardian.forceKill()
        }
        throw error
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 50 ms until it is true or `timeout` passes: no fixed sleeps.
func poll(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    if try await condition() { return }
    throw TestFailure("timed out after \(timeout) waiting for \(what)")
}

/// Locates the package's built executables next to the test bundle.
enum Binaries {
    static func path(_ name: String) throws -> String {
        if let dir = ProcessInfo.processInfo.environment["DAGI_BIN_DIR"] { return dir + "/" + name }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = url.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        for dir in [".build/debug", ".build/release"] {
            let candidate = FileManager.default.currentDirectoryPath + "/" + dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestFailure("cannot find the \(name) executable; run `swift build` first or set DAGI_BIN_DIR")
    }

    /// Runs a built executable to completion and returns (status, stdout, stderr).
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        try await runPath(try path(name), arguments, environment: environment)
    }

    /// Runs any executable to completion and returns (status, stdout, stderr).
    /// Runs `executable` to its end; past `timeout` it is killed (a stuck child fails its test
    /// instead of hanging the run).
    static func runPath(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(300)
    ) async throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DAGI_HOME")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let outData = Mutex(Data()), errData = Mutex(Data())
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        out.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; outData.withLock { $0.append(d) } }
        err.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; errData.withLock { $0.append(d) } }
        await withCheckedContinuation { continuation in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume() }
        }
        watchdog.cancel()
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        outData.withLock { $0.append(out.fileHandleForReading.readDataToEndOfFile()) }
        errData.withLock { $0.append(err.fileHandleForReading.readDataToEndOfFile()) }
        return (
            process.terminationStatus,
            String(decoding: outData.withLock { $0 }, as: UTF8.self),
            String(decoding: errData.withLock { $0 }, as: UTF8.self)
        )
    }
}

/// Free loopback TCP ports.
enum FreePort {
    /// Binds port 0, reads the port the kernel chose, and releases it.
    static func allocate() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestFailure("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw TestFailure("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A temporary directory removed at the end of the test.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "dagi-it-" + UUID().uuidString.prefix(8)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
