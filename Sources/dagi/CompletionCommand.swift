import ArgumentParser

struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print dagi's completion script for bash, zsh or fish.",
        discussion: """
            Examples:
              dagi completion bash > ~/.local/share/bash-completion/completions/dagi
              dagi completion zsh > "${fpath[1]}/_dagi"
              dagi completion fish > ~/.config/fish/completions/dagi.fish
            """
    )

    @Argument(help: "bash, zsh or fish.") var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else { throw ValidationError("unknown shell \"\(shell)\" (bash, zsh or fish)") }
        print(DAGICommand.completionScript(for: kind))
    }
}
