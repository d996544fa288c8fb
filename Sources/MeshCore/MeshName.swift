/// The names that travel in headers, URLs and table keys: node ids, agent names.
///
/// Plain ASCII letters, digits, `.`, `-` and `_`, one to 64 of them, so a name can never carry a
/// header break, a path separator or a look-alike character.
public enum MeshName {
    public static let maxLength = 64

    public static func isValid(_ name: some StringProtocol) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
    }
}
