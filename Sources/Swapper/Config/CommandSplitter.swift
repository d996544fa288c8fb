/// Splits a command line into arguments the way a shell would for simple commands: spaces and
/// newlines separate, single and double quotes group, backslash escapes, `\`-newline continues.
/// No variables, globs or pipes: the command runs without a shell.
enum CommandSplitter {
    static func split(_ command: String) -> [String] {
        var arguments: [String] = []
        var current = ""
        var inArgument = false
        var quote: Character?
        var escaping = false
        for character in command {
            if escaping {
                // A backslash-newline only continues the line; anything else is taken literally.
                if character != "\n" {
                    current.append(character)
                    inArgument = true
                }
                escaping = false
                continue
            }
            switch character {
            case "\\" where quote != "'":
                escaping = true
            case "'" where quote == nil, "\"" where quote == nil:
                quote = character
                inArgument = true
            case let q where q == quote:
                quote = nil
            case " ", "\t", "\n", "\r":
                if quote != nil {
                    current.append(character)
                } else if inArgument {
                    arguments.append(current)
                    current = ""
                    inArgument = false
                }
            default:
                current.append(character)
                inArgument = true
            }
        }
        if inArgument { arguments.append(current) }
        return arguments
    }
}
