// Fuzz target: the sync wire format, `SyncFrame.decode`, as a peer's bytes reach it.
//
// The first input byte picks how the rest is used:
//   even: the rest is a whole frame, header and all, exactly as it arrives over HTTP;
//   odd:  the rest is a frame *body* after its schema version; it is given this build's schema
//         version, compressed and framed by a valid header (kind and flags from the mode byte,
//         kinds 0 and 3 included), so the fuzzer reaches the body decoder without forging zlib
//         streams and checksums, and the seeds outlive a schema bump.
// A frame that decodes must encode again and decode to the same frame.
import MeshCore
import MeshStore
import Sync

/// The limits a node applies, scaled down so an input can reach them.
private let maxFrame = 1 << 16
private let maxInflated = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSyncFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let bytes = mode & 1 == 0 ? rest : framed(body: rest, mode: mode)

    _ = SyncFrame.declaredInflatedSize(bytes)
    guard let frame = try? SyncFrame.decode(bytes, maxFrame: maxFrame, maxInflated: maxInflated) else { return 0 }
    let again: [UInt8]
    do {
        again = try frame.encoded(level: 1).bytes
    } catch {
        fatalError("a decoded frame does not encode: \(error)")
    }
    let decoded: SyncFrame
    do {
        decoded = try SyncFrame.decode(again, maxFrame: 64 << 20, maxInflated: 256 << 20)
    } catch {
        fatalError("a re-encoded frame does not decode: \(error)")
    }
    precondition(decoded == frame, "a frame changed in an encode/decode round trip")
    return 0
}

/// `rest` behind this build's schema version, compressed, behind a well-formed header.
private func framed(body rest: [UInt8], mode: UInt8) -> [UInt8] {
    var body = BinaryWriter(capacity: 10 + rest.count)
    body.writeVarUInt(SyncFrame.schemaVersion)
    body.writeRaw(rest)
    let compressed: [UInt8]
    do {
        compressed = try Zlib.compress(body.bytes, level: 1)
    } catch {
        fatalError("zlib cannot compress \(body.bytes.count) bytes: \(error)")
    }
    var frame = BinaryWriter(capacity: SyncFrame.headerSize + compressed.count)
    frame.writeRaw(SyncFrame.magic)
    frame.writeByte(SyncFrame.version)
    frame.writeByte((mode >> 1) & 3)  // kind: 1 and 2 are real, 0 and 3 are not
    frame.writeByte(mode >> 3)        // flags, unknown bits included
    frame.writeByte(0)
    frame.writeUInt32(UInt32(body.bytes.count))
    frame.writeUInt32(UInt32(compressed.count))
    frame.writeRaw(compressed)
    return frame.bytes
}
