/// The token of an `Authorization: Bearer <token>` header: scheme case-insensitive, spaces
/// around the token trimmed, at most 4 KiB (nothing legitimate is longer).
public enum BearerToken {
    public static func parse(_ header: String) -> String? {
        let utf8 = header.utf8
        guard utf8.count > 7, utf8.count <= 4096 else { return nil }
        guard utf8.prefix(7).map({ $0 | 0x20 }).elementsEqual("bearer ".utf8) else { return nil }
        let token = utf8.dropFirst(7).drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed()
        return token.isEmpty ? nil : String(decoding: token, as: UTF8.self)
    }
}
