import Testing
@testable import MeshHTTP

@Suite struct MeshSignatureTests {
    let secret = MeshSecret("a-long-enough-mesh-secret-for-tests")
    let now: Int64 = 1_700_000_000_000

    func pair(skew: Int64 = 60_000, capacity: Int = 1 << 20) -> (MeshSigner, MeshVerifier) {
        (MeshSigner(secret: secret, nodeID: "a"), MeshVerifier(secret: secret, nodeID: "b", skewMs: skew, boot: "boot1", replayCapacity: capacity))
    }

    func verify(
        _ verifier: MeshVerifier, _ headers: [(String, String)], body: [UInt8], now: Int64, target: String = "/sync/pull",
        hop: [String] = []
    ) throws(SignatureFailure) -> String {
        let map = Dictionary(headers, uniquingKeysWith: { a, _ in a })
        let pending = try verifier.precheck(header: { map[$0] }, now: now)
        return try verifier.verify(pending, method: "POST", target: target, body: body, hopHeaders: hop, now: now)
    }

    @Test func acceptsOnceAndRefusesReplays() throws {
        let (signer, verifier) = pair()
        let body = Array(#"{"vector":{}}"#.utf8)
        let signed = signer.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        #expect(try verify(verifier, signed.headers, body: body, now: now + 500) == "a")
        #expect(throws: SignatureFailure.replayed) { try verify(verifier, signed.headers, body: body, now: now + 600) }
        // Two identical requests in the same millisecond are two requests: their nonces differ.
        let first = signer.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        let second = signer.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        #expect(try verify(verifier, first.headers, body: body, now: now) == "a")
        #expect(try verify(verifier, second.headers, body: body, now: now) == "a")
    }

    @Test func refusesTamperingWithAnySignedPart() throws {
        let (signer, verifier) = pair()
        let body = Array("{}".utf8)
        func fresh() -> [(String, String)] {
            signer.request(method: "POST", target: "/v1/chat/completions?x=1", body: body, recipient: verifier.identity, hopHeaders: ["atlas", "smol"], now: now).headers
        }
        let target = "/v1/chat/completions?x=1"
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: Array("{ }".utf8), now: now, target: target, hop: ["atlas", "smol"]) }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: body, now: now, target: "/v1/chat/completions?x=2", hop: ["atlas", "smol"]) }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: body, now: now, target: target, hop: ["root", "smol"]) }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: body, now: now, target: target, hop: ["atlas", "big"]) }
        #expect(try verify(verifier, fresh(), body: body, now: now, target: target, hop: ["atlas", "smol"]) == "a")
        // A batch's priority is a third signed value: taken away or added, the signature fails.
        let low = signer.request(method: "POST", target: target, body: body, recipient: verifier.identity, hopHeaders: ["atlas", "smol", "low"], now: now).headers
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, low, body: body, now: now, target: target, hop: ["atlas", "smol"]) }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: body, now: now, target: target, hop: ["atlas", "smol", "low"]) }
        let lowAgain = signer.request(method: "POST", target: target, body: body, recipient: verifier.identity, hopHeaders: ["atlas", "smol", "low"], now: now).headers
        #expect(try verify(verifier, lowAgain, body: body, now: now, target: target, hop: ["atlas", "smol", "low"]) == "a")
        let stranger = MeshSigner(secret: MeshSecret("another-secret-entirely-different"), nodeID: "a")
        let forged = stranger.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, forged.headers, body: body, now: now) }
    }

    @Test func boundToOneRecipientAndOneRun() throws {
        let (signer, verifier) = pair()
        let body = Array("{}".utf8)
        let forC = signer.request(method: "POST", target: "/sync/pull", body: body, recipient: PeerIdentity(nodeID: "c", boot: "boot1"), now: now)
        #expect(throws: SignatureFailure.wrongRecipient) { try verify(verifier, forC.headers, body: body, now: now) }
        // The same node after a restart has a new boot id: requests signed for the last run fail.
        let captured = signer.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        let restarted = MeshVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        #expect(throws: SignatureFailure.staleBoot) { try verify(restarted, captured.headers, body: body, now: now) }
    }

    @Test func hostileHeadersNeverTrap() throws {
        let (signer, verifier) = pair()
        let body = Array("{}".utf8)
        let good = Dictionary(signer.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now).headers, uniquingKeysWith: { a, _ in a })
        for timestamp in ["-9223372036854775808", "9223372036854775807", "99999999999999999999", "", "12a", "+5", " 1"] {
            var headers = good
            headers[MeshSignature.timestampHeader] = timestamp
            #expect(throws: SignatureFailure.malformed) { try verifier.precheck(header: { headers[$0] }, now: now) }
        }
        var old = good
        old[MeshSignature.timestampHeader] = "0"
        #expect(throws: SignatureFailure.skewed) { try verifier.precheck(header: { old[$0] }, now: now) }
        for (name, value) in [
            (MeshSignature.nonceHeader, "xyz"), (MeshSignature.signatureHeader, "v2=00"), (MeshSignature.nodeHeader, "a\nb"),
            (MeshSignature.nodeHeader, String(repeating: "n", count: 65)), (MeshSignature.recipientHeader, String(repeating: "b", count: 500)),
        ] {
            var headers = good
            headers[name] = value
            #expect(throws: SignatureFailure.malformed) { try verifier.precheck(header: { headers[$0] }, now: now) }
        }
        #expect(throws: SignatureFailure.missing) { try verifier.precheck(header: { _ in nil }, now: now) }
        #expect(throws: SignatureFailure.skewed) { try verifier.precheck(header: { good[$0] }, now: .max) }
    }

    @Test func answersAreSignedAndBoundToTheirRequest() throws {
        let (signer, verifier) = pair()
        // a asks b; b answers; a checks the answer with its own verifier.
        let aVerifier = MeshVerifier(secret: secret, nodeID: "a", skewMs: 60_000)
        let request = signer.request(method: "POST", target: "/sync/pull", body: [], recipient: verifier.identity, now: now)
        let map = Dictionary(request.headers, uniquingKeysWith: { a, _ in a })
        let pending = try verifier.precheck(header: { map[$0] }, now: now)
        let answer = Array("frame".utf8)
        let headers = Dictionary(verifier.signResponse(status: 200, to: pending, body: answer, now: now), uniquingKeysWith: { a, _ in a })
        func check(status: Int = 200, nonce: String = request.nonce, expected: String? = "b", body: [UInt8]? = answer, headers: [String: String] = headers) throws(SignatureFailure) -> PeerIdentity {
            try aVerifier.verifyResponse(status: status, requestNonce: nonce, expected: expected, body: body, header: { headers[$0] }, now: now)
        }
        #expect(try check() == PeerIdentity(nodeID: "b", boot: "boot1"))
        #expect(throws: SignatureFailure.invalid) { try check(status: 500) }
        #expect(throws: SignatureFailure.invalid) { try check(body: Array("other".utf8)) }
        #expect(throws: SignatureFailure.invalid) { try check(nonce: MeshSigner.randomNonce()) }
        #expect(throws: SignatureFailure.invalid) { try check(body: nil) }
        #expect(throws: SignatureFailure.wrongRecipient) { try check(expected: "c") }
        #expect(throws: SignatureFailure.unsignedAnswer) { try check(headers: [:]) }
        // A streamed answer is signed without its body.
        let streamed = Dictionary(verifier.signResponse(status: 200, to: pending, body: [UInt8]?.none, now: now), uniquingKeysWith: { a, _ in a })
        #expect(try check(body: nil, headers: streamed).nodeID == "b")
    }

    @Test func theReplayWindowIsBoundedAndForgets() throws {
        let (signer, verifier) = pair(skew: 1000, capacity: 3)
        let body: [UInt8] = []
        for _ in 0..<3 {
            let signed = signer.request(method: "POST", target: "/", body: body, recipient: verifier.identity, now: now)
            _ = try verify(verifier, signed.headers, body: body, now: now, target: "/")
        }
        let fourth = signer.request(method: "POST", target: "/", body: body, recipient: verifier.identity, now: now)
        #expect(throws: SignatureFailure.overloaded) { try verify(verifier, fourth.headers, body: body, now: now, target: "/") }
        // Once the first three are past the skew window they are forgotten and room is back.
        let later = signer.request(method: "POST", target: "/", body: body, recipient: verifier.identity, now: now + 1500)
        #expect(try verify(verifier, later.headers, body: body, now: now + 1500, target: "/") == "a")
        #expect(MeshSecret("x").description.contains("redacted"))
    }
}
