/// An integer query parameter, range-checked before anyone computes with it: `?tail=-1` used to
/// reach `suffix(-1)`, which traps — a remote crash of the node. Out of range or not a number is
/// a 400 in OpenAI's error shape.
public enum QueryInteger {
    /// nil when the parameter is absent.
    public static func read(_ text: String?, name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest(
                "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound) (got \"\(text.prefix(40))\")",
                code: "invalid_parameter", param: name
            )
        }
        return value
    }
}
