import MeshCore
import NIOCore
import Testing
@testable import DAGIRouter

/// A whole chat answer keeps every byte but its top-level `model`, which becomes the name the
/// client asked for, cut anywhere into chunks; its usage is read on the way.
@Suite struct RenamedAnswerTests {
    private func relay(_ text: String, as model: String, cut: Int) throws -> (String, RenamedAnswer) {
        let adapter = RenamedAnswer(model: model)
        let bytes = Array(text.utf8)
        var out = ""
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + max(1, cut))
            if let part = try adapter.feed(ByteBuffer(bytes: bytes[index..<end])) { out += String(buffer: part) }
            index = end
        }
        if let last = try adapter.finish() { out += String(buffer: last) }
        return (out, adapter)
    }

    @Test func theModelIsRenamedAndNothingElseChanges() throws {
        let answer = #"{"choices":[{"message":{"role":"assistant","content":"\"model\":\"x\""}}],"model":"/root/.cache/m.gguf","timings":{"a":1.5e-3},"usage":{"prompt_tokens":31,"completion_tokens":11,"total_tokens":42}}"#
        for cut in [1, 7, 1000] {
            let (out, adapter) = try relay(answer, as: "smollm2", cut: cut)
            #expect(out == answer.replacingOccurrences(of: #""model":"/root/.cache/m.gguf""#, with: #""model":"smollm2""#), "cut \(cut)")
            #expect(adapter.usage?.prompt == 31 && adapter.usage?.completion == 11)
            #expect(adapter.answerEnded)
        }
        // Already right: the same bytes; a name needing escapes is written as JSON.
        let right = #"{"model":"smollm2","choices":[]}"#
        #expect(try relay(right, as: "smollm2", cut: 3).0 == right)
        #expect(try relay(right, as: "we\"ird", cut: 3).0 == #"{"model":"we\"ird","choices":[]}"#)
    }

    @Test func whatCannotBeReadIsRelayedAsItCame() throws {
        for text in ["not json", #"{"model":"#, "[1,2]", ""] {
            #expect(try relay(text, as: "smollm2", cut: 2).0 == text, "\(text)")
        }
    }
}
