import MeshCore
import MeshStore
import Testing

/// The agent row's call_policy JSON: what is set, read back; what a newer node wrote, kept
/// through this node's edits; what a peer cannot mean, read as unset.
@Suite struct CallPolicyTests {
    @Test func aPolicyReadsBackAndKeepsWhatItDoesNotKnow() {
        let written = CallPolicy(priority: .normal, minIntervalMs: 30_000, promptCache: true)
        #expect(CallPolicy(json: written.json) == written)
        // An explicit normal is not "unset" (a tier's priority does not replace it).
        #expect(CallPolicy(json: written.json).priority == .normal)
        #expect(CallPolicy().json == nil)

        var newer = CallPolicy(json: #"{"priority":"high","batch_window_ms":500,"flags":{"x":[1,2]}}"#)
        #expect(newer.priority == .high && newer.others.count == 2)
        newer.minIntervalMs = 60_000
        let stored = CallPolicy(json: newer.json)
        #expect(stored.others == newer.others && stored.minIntervalMs == 60_000 && stored.priority == .high)

        // A value this node cannot read, under a key it knows, is carried too.
        let unread = CallPolicy(json: #"{"priority":"critical","prompt_cache":"smart"}"#)
        #expect(unread.priority == nil && !unread.promptCache)
        #expect(CallPolicy(json: unread.json).others == ["priority": "critical", "prompt_cache": "smart"])
    }

    @Test func whatAPeerCannotMeanReadsAsUnset() {
        for hostile in [
            #"{"priority":"urgent","min_interval_ms":0,"prompt_cache":true}"#, #"{"min_interval_ms":99999999999999999999}"#,
            #"{"min_interval_ms":-5}"#, "[1]", "not json", "", String(repeating: " ", count: 2_000) + "{}",
        ] {
            let policy = CallPolicy(json: hostile)
            #expect(policy.priority == nil && policy.minIntervalMs == nil && !policy.promptCache, "\(hostile)")
        }
        // Others too large to fit the column are dropped before the policy's own keys.
        var crowded = CallPolicy(json: #"{"padding":"\#(String(repeating: "x", count: 1_000))"}"#)
        crowded.promptCache = true
        #expect(crowded.json == #"{"prompt_cache":"auto"}"#)
    }
}
