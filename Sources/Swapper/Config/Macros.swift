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
