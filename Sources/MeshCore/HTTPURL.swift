import Foundation

/// An `http://` or `https://` URL with a host, validated when configuration is read so a typo
/// stops start-up instead of failing every request later.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    /// The URL without a trailing slash, ready to have paths appended.
    public let base: String

    public init?(parsing text: String) {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil
        else { return nil }
        if let port = components.port, !(1...65535).contains(port) { return nil }
        self.base = trimmed
    }

    public var description: String { base }

    /// `base` followed by `path` (which starts with `/`).
    public func appending(_ path: String) -> String { base + path }
}

extension HTTPURL: ConfigScalar {
    public static var expectedForm: String { "URL (use http://HOST:PORT or https://HOST:PORT)" }
}
