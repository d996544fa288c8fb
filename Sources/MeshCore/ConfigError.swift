/// Everything wrong with a configuration file, each problem with its key path and line.
///
/// Start-up stops on a `ConfigError`: a guardian never runs half-configured.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// One problem in the file.
    public struct Issue: Sendable, Hashable {
        /// Dotted key path, e.g. `swapper.models.smollm2.ttl`; empty for the document itself.
        public var path: String
        /// 1-based line in the file, when known.
        public var line: Int?
        public var message: String

        public init(path: String, line: Int?, message: String) {
            self.path = path
            self.line = line
            self.message = message
        }
    }

    /// The file name (or a label such as `<embedded>`) the issues refer to.
    public var file: String
    public var issues: [Issue]

    public init(file: String, issues: [Issue]) {
        self.file = file
        self.issues = issues
    }

    public var description: String {
        issues.map { issue in
            let location = issue.line.map { "\(file):\($0)" } ?? file
            let path = issue.path.isEmpty ? "" : "\(issue.path): "
            return "\(location): \(path)\(issue.message)"
        }.joined(separator: "\n")
    }
}
