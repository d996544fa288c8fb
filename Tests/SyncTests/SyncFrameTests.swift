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

@Suite struct SignatureTests {
    let secret = MeshSecret("a-long-enough-mesh-secret")

    func verify(_ verifier: SignatureVerifier, _ headers: [(String, String)], body: [UInt8], now: Int64, path: String = "/sync/pull") throws -> String {
        let map = Dictionary(headers, uniquingKeysWith: { a, _ in a })
        return try verifier.verify(method: "POST", path: path, body: body, header: { map[$0] }, now: now)
    }

    @Test func acceptsOnceAndRefusesReplays() throws {
        let signer = RequestSigner(secret: secret, nodeID: "a")
        let verifier = SignatureVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        let body = Array("{\"vector\":{}}".utf8)
        let headers = signer.headers(method: "POST", path: "/sync/pull", body: body, now: 1_000_000)
        #expect(try verify(verifier, headers, body: body, now: 1_000_500) == "a")
        #expect(throws: SignatureFailure.replayed) { try verify(verifier, headers, body: body, now: 1_000_600) }
    }

    @Test func refusesTamperingSkewAndStrangers() throws {
        let signer = RequestSigner(secret: secret, nodeID: "a")
        let verifier = SignatureVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        let body = Array("{}".utf8)
        let headers = signer.headers(method: "POST", path: "/sync/pull", body: body, now: 1_000_000)
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, headers, body: Array("{ }".utf8), now: 1_000_000) }
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, headers, body: body, now: 1_000_000, path: "/sync/push") }
        #expect(throws: SignatureFailure.skewed) { try verify(verifier, headers, body: body, now: 1_100_000) }
        #expect(throws: SignatureFailure.missing) { try verify(verifier, [], body: body, now: 1_000_000) }
        let stranger = RequestSigner(secret: MeshSecret("another-secret-entirely"), nodeID: "a")
        let forged = stranger.headers(method: "POST", path: "/sync/pull", body: body, now: 1_000_000)
        #expect(throws: SignatureFailure.invalid) { try verify(verifier, forged, body: body, now: 1_000_000) }
        #expect(MeshSecret("x").description.contains("redacted"))
    }
}
