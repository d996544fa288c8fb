/// `${NAME}` substitution in model commands: `${PORT}`, `${MODEL_ID}`, `${MODEL_PATH}`, and the
/// user's macros (the model's own first, then the global ones). An unknown macro is an error,
/// never an empty string.
struct Macros {
    let values: [String: String]

    init(global: [String: String], model: SwapperModelConfig, port: Int) {
        var values = global
        values.merge(model.macros) { _, own in own }
        values["PORT"] = String(port)
        values["MODEL_ID"] = model.name
        if let path = model.modelPath { values["MODEL_PATH"] = path }
        self.values = values
    }

    struct UnknownMacro: Error, CustomStringConvertible {
        let name: String
        var description: String { "unknown macro ${\(name)}" }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }
    }

    func expand(_ text: String) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = String(rest[open.upperBound..<close])
            guard let value = values[name] else { throw UnknownMacro(name: name) }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    func expand(_ arguments: [String]) throws -> [String] { try arguments.map(expand) }
}

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
