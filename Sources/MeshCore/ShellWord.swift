/// One word of a command line, as a POSIX shell (and our ``CommandSplitter`` in the Swapper)
/// reads it: left as is when plain, else single-quoted.
public enum ShellWord {
    /// Letters, digits and `/._-+=:@,` only: nothing a shell or a splitter would read otherwise.
    public static func isPlain(_ word: String) -> Bool {
        !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+=:@,".contains($0)) }
    }

    public static func quoted(_ word: String) -> String {
        isPlain(word) ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
