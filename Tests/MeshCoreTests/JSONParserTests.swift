import Testing
@testable import MeshCore

@Suite struct JSONParserTests {
    @Test func roundTrips() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":{"c":"d\n\"e\" \u00e9 \ud83d\ude00"},"n":-0}"#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["a"]?.arrayValue?.count == 6)
        #expect(value["a"]?.arrayValue?[2] == .number(-300))
        #expect(value["b"]?["c"]?.stringValue == "d\n\"e\" é 😀")
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "01", "1.", "\"\u{01}\"", "\"\\x\"", "{} x", "[\"\\ud800\\u0041\"]",
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
    }

    @Test func readsTopLevelFieldsAndSkipsTheRest() throws {
        let body = #"{"messages":[{"role":"user","content":"hi {\"x\"]"}],"model":"smollm2","stream":true,"n":1}"#
        var parser = JSONParser(Array(body.utf8))
        var model: String?
        var stream: Bool?
        try parser.forEachTopLevelField { key, parser in
            switch key {
            case "model": model = try parser.parseValue().stringValue
            case "stream": stream = try parser.parseValue().boolValue
            default: break
            }
        }
        #expect(model == "smollm2")
        #expect(stream == true)
        var broken = JSONParser(Array(#"{"model":"x","messages":[}"#.utf8))
        #expect(throws: JSONParseError.self) { try broken.forEachTopLevelField { _, _ in } }
    }
}
