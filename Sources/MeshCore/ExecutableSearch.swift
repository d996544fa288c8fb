import Foundation

/// Finds a program the way a shell would: a name with a `/` is taken as a path; a bare name is
/// looked up in each directory of `PATH`, in order.
public enum ExecutableSearch {
    public static func find(_ program: String, path: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The running program's own file (not argv[0], which may be a bare name resolved against
    /// the current directory by mistake).
    public static func currentExecutable() -> String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executableURL?.resolvingSymlinksInPath().path
    }
}
