import MeshStore
import MeshCore
import MeshHTTP
import Testing
@testable import Sync

@Suite struct SyncFrameTests {
    static let limits = (frame: 1 << 20, inflated: 4 << 20)

    func sampleChanges(_ count: Int) -> [Change] {
        (0..<count).map { i in
            var payload = BinaryWriter()
            payload.writeByte(3)
            payload.writeString("node-\(i % 3)")
            payload.writeByte(3)
            payload.writeString("cpu_percent")
            payload.writeByte(1)
            payload.writeVarInt(1_750_000_000_000 + Int64(i) * 10_000)
            payload.writeByte(2)
            payload.writeUInt64(Double(i % 100).bitPattern)
            return Change(
                origin: "node-\(i % 3)", originSeq: Int64(i / 3 + 1),
                hlc: HLCTimestamp(milliseconds: 1_750_000_000_000 + Int64(i) * 10), table: .metricSample, payload: payload.bytes
            )
        }
    }

    @Test func roundTrips() throws {
        let frame = SyncFrame(
            kind: .changes, hasMore: true, snapshotRequired: false, base: ["node-0": 3], vector: ["node-0": 900, "node-1": 7],
            changes: sampleChanges(1000)
        )
        let (bytes, sizes) = try frame.encoded()
        #expect(sizes.wire == bytes.count)
        #expect(try SyncFrame.decode(bytes, maxFrame: Self.limits.frame, maxInflated: Self.limits.inflated) == frame)
        #expect(SyncFrame.declaredInflatedSize(bytes) == sizes.raw)
    }

    @Test func compressesMetricBatches() throws {
        let (_, sizes) = try SyncFrame(changes: sampleChanges(5000)).encoded()
        #expect(Double(sizes.raw) / Double(sizes.wire) >= 5)
    }

    @Test func rejectsCorruptTruncatedAndForeignFrames() throws {
        let (bytes, _) = try SyncFrame(changes: sampleChanges(50)).encoded()
        var corrupt = bytes
        corrupt[bytes.count / 2] ^= 0xff
        var truncated = bytes
        truncated.removeLast(10)
        var badMagic = bytes
        badMagic[0] = UInt8(ascii: "X")
        var badVersion = bytes
        badVersion[4] = 99
        for (name, input) in [("corrupt", corrupt), ("truncated", truncated), ("magic", badMagic), ("version", badVersion), ("empty", [])] {
            #expect(throws: SyncFrame.DecodeError.self, "\(name)") {
                try SyncFrame.decode(input, maxFrame: Self.limits.frame, maxInflated: Self.limits.inflated)
            }
        }
    }

    /// A frame around a hand-written body.
    static func frame(body: [UInt8]) throws -> [UInt8] {
        let compressed = try Zlib.compress(body, level: 6)
        var writer = BinaryWriter()
        writer.writeRaw(SyncFrame.magic)
        writer.writeRaw([SyncFrame.version, 1, 0, 0])
        writer.writeUInt32(UInt32(body.count))
        writer.writeUInt32(UInt32(compressed.count))
        writer.writeRaw(compressed)
        return writer.bytes
    }

    /// A body: schema, origins, base and vector maps, then `changeCount` and nothing more.
    static func body(origins: [String], vector: [(Int, Int64)] = [], changeCount: UInt64 = 0) -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeVarUInt(SyncFrame.schemaVersion)
        writer.writeVarUInt(UInt64(origins.count))
        for origin in origins { writer.writeString(origin) }
        writer.writeVarUInt(0)
        writer.writeVarUInt(UInt64(vector.count))
        for (index, seq) in vector {
            writer.writeVarUInt(UInt64(index))
            writer.writeVarInt(seq)
        }
        writer.writeVarUInt(changeCount)
        return writer.bytes
    }

    @Test func refusesClaimedCountsNamesAndVectorsOutOfRange() throws {
        func decode(_ body: [UInt8]) throws -> SyncFrame {
            try SyncFrame.decode(try Self.frame(body: body), maxFrame: Self.limits.frame, maxInflated: Self.limits.inflated)
        }
        #expect(try decode(Self.body(origins: ["a"], vector: [(0, 5)])).vector == ["a": 5])
        // A claimed count of 2^40 changes in a few bytes is refused before anything is reserved
        // for it (reserving from the claim alone would ask for terabytes).
        #expect(throws: SyncFrame.DecodeError.self) { try decode(Self.body(origins: ["a"], changeCount: 1 << 40)) }
        #expect(throws: SyncFrame.DecodeError.self) { try decode(Self.body(origins: ["a"], changeCount: 3)) }
        // Origins are node ids; vector entries are sequence numbers in range.
        #expect(throws: SyncFrame.DecodeError.self) { try decode(Self.body(origins: ["not a node\n"])) }
        for seq in [Int64.max, Int64.min, -1, Change.maxSequence + 1] {
            #expect(throws: SyncFrame.DecodeError.self, "\(seq)") { try decode(Self.body(origins: ["a"], vector: [(0, seq)])) }
        }
        var manyOrigins = BinaryWriter()
        manyOrigins.writeVarUInt(SyncFrame.schemaVersion)
        manyOrigins.writeVarUInt(UInt64(SyncFrame.maxOrigins + 1))
        #expect(throws: SyncFrame.DecodeError.self) { try decode(manyOrigins.bytes + [UInt8](repeating: 0, count: 64)) }
    }

    @Test func refusesABombBeforeInflatingIt() throws {
        // 64 MiB of zeros compresses to ~64 KiB.
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let compressed = try Zlib.compress(zeros, level: 9)
        func frame(declaring size: Int) -> [UInt8] {
            var writer = BinaryWriter()
            writer.writeRaw(SyncFrame.magic)
            writer.writeRaw([SyncFrame.version, 1, 0, 0])
            writer.writeUInt32(UInt32(size))
            writer.writeUInt32(UInt32(compressed.count))
            writer.writeRaw(compressed)
            return writer.bytes
        }
        // Honest header over the limit: refused before any inflation.
        #expect {
            try SyncFrame.decode(frame(declaring: zeros.count), maxFrame: Self.limits.frame, maxInflated: Self.limits.inflated)
        } throws: { ($0 as? SyncFrame.DecodeError)?.reason == .tooLarge }
        // Lying header under the limit: inflation stops at the declared size.
        #expect {
            try SyncFrame.decode(frame(declaring: 1 << 20), maxFrame: Self.limits.frame, maxInflated: Self.limits.inflated)
        } throws: { ($0 as? SyncFrame.DecodeError)?.reason == .tooLarge }
    }
}

/// The signer as Sync uses it: requests signed for one recipient and run, over the path with
/// its query; answers signed back over their status and body.
@Suite struct SignatureTests {
    let secret = MeshSecret("a-long-enough-mesh-secret")
    let now: Int64 = 1_000_000

    func verify(_ verifier: MeshVerifier, _ headers: [(String, String)], body: [UInt8], now: Int64, target: String = "/sync/pull") throws(SignatureFailure) -> String {
        let map = Dictionary(headers, uniquingKeysWith: { a, _ in a })
        let pending = try verifier.precheck(header: { map[$0] }, now: now)
        return try verifier.verify(pending, method: "POST", target: target, body: body, now: now)
    }

    @Test func acceptsOnceAndRefusesReplays() throws {
        let signer = MeshSigner(secret: secret, nodeID: "a")
        let verifier = MeshVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        let body = Array("{\"vector\":{}}".utf8)
        let signed = signer.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        #expect(try verify(verifier, signed.headers, body: body, now: now + 500) == "a")
        #expect(throws: SignatureFailure.replayed) { try verify(verifier, signed.headers, body: body, now: now + 600) }
    }

    @Test func refusesTamperingSkewStrangersAndOtherRecipients() throws {
        let signer = MeshSigner(secret: secret, nodeID: "a")
        let verifier = MeshVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        let body = Array("{}".utf8)
        func fresh(_ target: String = "/sync/pull?x=1", for recipient: PeerIdentity? = nil) -> [(String, String)] {
            signer.request(method: "POST", target: target, body: body, recipient: recipient ?? verifier.identity, now: now).headers
        }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: Array("{ }".utf8), now: now, target: "/sync/pull?x=1") }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: body, now: now, target: "/sync/pull?x=2") }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, fresh(), body: body, now: now, target: "/sync/push?x=1") }
        #expect(throws: SignatureFailure.skewed) { try verify(verifier, fresh(), body: body, now: now + 100_000, target: "/sync/pull?x=1") }
        #expect(throws: SignatureFailure.missing) { try verify(verifier, [], body: body, now: now) }
        #expect(throws: SignatureFailure.wrongRecipient) {
            try verify(verifier, fresh(for: PeerIdentity(nodeID: "c", boot: verifier.boot)), body: body, now: now, target: "/sync/pull?x=1")
        }
        #expect(throws: SignatureFailure.staleBoot) {
            try verify(verifier, fresh(for: PeerIdentity(nodeID: "b", boot: "earlier")), body: body, now: now, target: "/sync/pull?x=1")
        }
        let stranger = MeshSigner(secret: MeshSecret("another-secret-entirely"), nodeID: "a")
        let forged = stranger.request(method: "POST", target: "/sync/pull", body: body, recipient: verifier.identity, now: now)
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, forged.headers, body: body, now: now) }
        #expect(try verify(verifier, fresh(), body: body, now: now, target: "/sync/pull?x=1") == "a")
    }

    @Test func answersAreBoundToTheirRequestAndBody() throws {
        let a = MeshVerifier(secret: secret, nodeID: "a", skewMs: 60_000)
        let b = MeshVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        let request = a.requestSigner.request(method: "POST", target: "/sync/pull", body: [], recipient: b.identity, now: now)
        let map = Dictionary(request.headers, uniquingKeysWith: { x, _ in x })
        let pending = try b.precheck(header: { map[$0] }, now: now)
        let frame = Array("a frame".utf8)
        let answer = Dictionary(b.signResponse(status: 200, to: pending, body: frame, now: now), uniquingKeysWith: { x, _ in x })
        #expect(try a.verifyResponse(status: 200, requestNonce: request.nonce, expected: "b", body: frame, header: { answer[$0] }, now: now) == b.identity)
        // Another body, another status, another node, or no signature at all: refused.
        #expect(throws: SignatureFailure.invalid) {
            try a.verifyResponse(status: 200, requestNonce: request.nonce, expected: "b", body: Array("forged".utf8), header: { answer[$0] }, now: now)
        }
        #expect(throws: SignatureFailure.invalid) {
            try a.verifyResponse(status: 409, requestNonce: request.nonce, expected: "b", body: frame, header: { answer[$0] }, now: now)
        }
        #expect(throws: SignatureFailure.wrongRecipient) {
            try a.verifyResponse(status: 200, requestNonce: request.nonce, expected: "c", body: frame, header: { answer[$0] }, now: now)
        }
        #expect(throws: SignatureFailure.unsignedAnswer) {
            try a.verifyResponse(status: 200, requestNonce: request.nonce, expected: "b", body: frame, header: { _ in nil }, now: now)
        }
        #expect(MeshSecret("x").description.contains("redacted"))
    }
}
