import Foundation

/// How `dagi` prints: JSON for machines, tables for people, colour only on a terminal.
enum Output {
    /// Pretty (or, `compact`, one-line), sorted JSON on stdout.
    static func printJSON<T: Encodable>(_ value: T, compact: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = compact ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(value))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    static var useColor: Bool {
        isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    /// Whether stdout is a terminal (screen control only there).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
