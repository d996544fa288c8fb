import Yams

/// Decodes a `Decodable` configuration tree from YAML and reports problems with key paths and
/// line numbers.
///
/// Unlike `YAMLDecoder`, it also rejects keys nobody asked for: every mapping that a type opened
/// as a keyed container must consist only of keys that type requested (synthesized and
/// hand-written `init(from:)` ask for each key they know, present or not). So a misspelt
/// `helth_check_timeout:` is an error naming that key and its line, not a silently ignored setting.
public enum YAMLConfigDecoder {
    /// Decodes `type` from `yaml`; `file` labels error messages.
    public static func decode<T: Decodable>(_ type: T.Type, from yaml: String, file: String) throws -> T {
        let root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? Node.mapping(.init([]))
        } catch let error as YamlError {
            throw ConfigError(file: file, issues: [Self.issue(from: error)])
        }
        let state = DecodingState()
        var issues: [ConfigError.Issue] = []
        var value: T?
        do {
            value = try T(from: NodeDecoder(node: root, codingPath: [], state: state))
        } catch let error as DecodingError {
            issues.append(state.issue(for: error))
        }
        issues.append(contentsOf: state.unknownKeys(in: root, path: []))
        guard issues.isEmpty, let value else {
            throw ConfigError(file: file, issues: issues.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
        return value
    }

    private static func issue(from error: YamlError) -> ConfigError.Issue {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return .init(path: "", line: mark.line, message: "YAML syntax error: \(problem)")
        default:
            return .init(path: "", line: nil, message: "YAML error: \(error)")
        }
    }
}

/// Bookkeeping shared by all decoders of one document: which keys each mapping was asked for,
/// and where every decoded node sits, so errors can name a line.
final class DecodingState {
    struct Location: Hashable {
        let line: Int
        let column: Int
    }

    /// For each mapping opened as a keyed container (by its position), the keys requested.
    private var requested: [Location: Set<String>] = [:]
    /// Line of every node decoded so far, by dotted path.
    private var lines: [String: Int] = [:]

    func record(_ node: Node, path: [any CodingKey]) {
        if let mark = node.mark { lines[Self.dotted(path)] = mark.line }
    }

    func opened(_ node: Node) {
        guard let mark = node.mark else { return }
        let location = Location(line: mark.line, column: mark.column)
        if requested[location] == nil { requested[location] = [] }
    }

    func requested(_ key: String, in node: Node) {
        guard let mark = node.mark else { return }
        requested[Location(line: mark.line, column: mark.column), default: []].insert(key)
    }

    func unknownKeys(in node: Node, path: [String]) -> [ConfigError.Issue] {
        switch node {
        case .mapping(let mapping):
            var issues: [ConfigError.Issue] = []
            let asked = node.mark.flatMap { requested[Location(line: $0.line, column: $0.column)] }
            for (key, value) in mapping {
                let name = key.string ?? "?"
                if let asked, !asked.contains(name) {
                    let known = asked.sorted().joined(separator: ", ")
                    issues.append(.init(
                        path: (path + [name]).joined(separator: "."),
                        line: key.mark?.line,
                        message: "unknown key \"\(name)\"" + (known.isEmpty ? "" : " (known keys here: \(known))")
                    ))
                } else {
                    issues += unknownKeys(in: value, path: path + [name])
                }
            }
            return issues
        case .sequence(let sequence):
            return sequence.enumerated().flatMap { unknownKeys(in: $1, path: path + ["\($0)"]) }
        default:
            return []
        }
    }

    func issue(for error: DecodingError) -> ConfigError.Issue {
        let (context, message): (DecodingError.Context, String)
        switch error {
        case .typeMismatch(_, let c): (context, message) = (c, c.debugDescription)
        case .valueNotFound(_, let c): (context, message) = (c, c.debugDescription)
        case .dataCorrupted(let c): (context, message) = (c, c.debugDescription)
        case .keyNotFound(let key, let c):
            (context, message) = (c, "missing required key \"\(key.stringValue)\"")
        @unknown default:
            return .init(path: "", line: nil, message: "\(error)")
        }
        var path = context.codingPath
        if case .keyNotFound = error {} else if path.isEmpty == false, lines[Self.dotted(path)] == nil {
            // A missing line means the failing node was not reached; fall back to the parent.
            path.removeLast()
        }
        var line = lines[Self.dotted(path)]
        var probe = path
        while line == nil, !probe.isEmpty {
            probe.removeLast()
            line = lines[Self.dotted(probe)]
        }
        return .init(path: Self.dotted(context.codingPath), line: line, message: message)
    }

    static func dotted(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

/// A `Decoder` over one YAML node.
struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [any CodingKey]
    let state: DecodingState
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: Node, codingPath: [any CodingKey], state: DecodingState) {
        self.node = node
        self.codingPath = codingPath
        self.state = state
        state.record(node, path: codingPath)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else {
            throw DecodingError.typeMismatch(
                [String: Any].self,
                .init(codingPath: codingPath, debugDescription: "expected a mapping (key: value), found \(node.describedKind)")
            )
        }
        state.opened(node)
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(node: node, mapping: mapping, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = node else {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: codingPath, debugDescription: "expected a list, found \(node.describedKind)")
            )
        }
        return UnkeyedNodeContainer(items: Array(sequence), decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { ScalarNodeContainer(decoder: self) }

    func child(_ node: Node, key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], state: state)
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: Node
    let values: [String: Node]
    let orderedKeys: [String]
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    init(node: Node, mapping: Node.Mapping, decoder: NodeDecoder) {
        self.node = node
        var values: [String: Node] = [:]
        var ordered: [String] = []
        for (key, value) in mapping {
            let name = key.string ?? ""
            values[name] = value
            ordered.append(name)
        }
        self.values = values
        self.orderedKeys = ordered
        self.decoder = decoder
    }

    var allKeys: [Key] {
        // A caller enumerating keys (a dictionary) accepts all of them.
        orderedKeys.forEach { decoder.state.requested($0, in: node) }
        return orderedKeys.compactMap { Key(stringValue: $0) }
    }

    func contains(_ key: Key) -> Bool {
        decoder.state.requested(key.stringValue, in: node)
        return values[key.stringValue] != nil
    }

    private func value(for key: Key) throws -> Node {
        decoder.state.requested(key.stringValue, in: node)
        guard let value = values[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing key"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(for: key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: decoder.child(try value(for: key), key: key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.child(try value(for: key), key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(try value(for: key), key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(try value(for: key), key: key) }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let items: [Node]
    let decoder: NodeDecoder
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [Node], decoder: NodeDecoder) {
        self.items = items
        self.decoder = decoder
    }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "list has no more items")
            )
        }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], key: AnyKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: try next()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

struct ScalarNodeContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.node.isNull }

    private func text(_ expected: String) throws -> String {
        guard case .scalar(let scalar) = decoder.node, !decoder.node.isNull else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(decoder.node.describedKind)")
            )
        }
        return scalar.string
    }

    private func mismatch<T>(_ type: T.Type, _ expected: String, _ text: String) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \"\(text)\""))
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        let s = try text("true or false")
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw mismatch(type, "true or false", s)
        }
    }

    func decode(_ type: String.Type) throws -> String { try text("a string") }

    func decode(_ type: Double.Type) throws -> Double {
        let s = try text("a number")
        guard let value = Double(s) else { throw mismatch(type, "a number", s) }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let s = try text("a whole number")
        guard let value = T(s.replacingOccurrences(of: "_", with: "")) else {
            throw mismatch(type, "a whole number", s)
        }
        return value
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: decoder) }
}

extension Node {
    /// Plain `~`, `null` or empty scalars are YAML's null.
    var isNull: Bool {
        guard case .scalar(let scalar) = self, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    var describedKind: String {
        switch self {
        case .scalar(let scalar): return isNull ? "nothing (null)" : "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

extension KeyedDecodingContainer {
    /// Decodes `key` when present, else returns `fallback`: the one place config defaults apply.
    public func decode<T: Decodable>(_ key: Key, default fallback: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback()
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
