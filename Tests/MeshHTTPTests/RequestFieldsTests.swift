import MeshCore
import NIOCore
import Testing
@testable import MeshHTTP

@Suite struct RequestFieldsTests {
    func read(_ json: String) throws -> RequestFields { try RequestFields.read(ByteBuffer(string: json)) }

    func code(_ json: String) -> String? {
        do {
            _ = try read(json)
            return nil
        } catch let error as APIError {
            return error.code
        } catch {
            return "\(error)"
        }
    }

    @Test func readsWhatRoutingNeedsAndSkipsTheRest() throws {
        let fields = try read(#"{"messages":[{"role":"user","content":"x"}],"model":"smol","stream":true,"tools":[{"a":[1,2,{"b":null}]}]}"#)
        #expect(fields.model == "smol")
        #expect(fields.stream == true)
        #expect(fields.present == ["messages", "model", "stream", "tools"])
        let body = ByteBuffer(string: #"{"messages":[],"model":"smol","stream":true}"#)
        let replaced = try RequestFields.read(body).replacingModel(in: body, with: "a\"b")
        #expect(String(buffer: replaced) == #"{"messages":[],"model":"a\"b","stream":true}"#)
    }

    @Test func refusesWhatNoModelServerWouldTake() {
        #expect(code(#"{"model":"m","max_tokens":-1}"#) == "invalid_value")
        #expect(code(#"{"model":"m","max_tokens":0}"#) == "invalid_value")
        #expect(code(#"{"model":"m","max_tokens":1e30}"#) == "invalid_value")
        #expect(code(#"{"model":"m","temperature":2.5}"#) == "invalid_value")
        #expect(code(#"{"model":"m","temperature":"hot"}"#) == "invalid_value")
        #expect(code(#"{"model":"m","n":0}"#) == "invalid_value")
        #expect(code(#"{"model":"m","top_p":-0.1}"#) == "invalid_value")
        #expect(code(#"{"model":"m","messages":"hi"}"#) == "invalid_type")
        #expect(code(#"{"model":"m","options":[1]}"#) == "invalid_type")
        #expect(code(#"{"model":7}"#) == "invalid_model")
        #expect(code(#"{"model":"\#(String(repeating: "m", count: 300))"}"#) == "invalid_model")
        #expect(code(#"{"model":"m","#) == "invalid_json")
        #expect(code(#"[1,2]"#) == "invalid_json")
        #expect(code(#"{"model":"m","max_tokens":null,"temperature":0,"n":1,"top_p":1}"#) == nil)
    }
}
