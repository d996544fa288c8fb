import MeshStore
import MeshCore
import MeshHTTP

/// The sync wire format, versioned from the first byte.
///
///     offset  size  field
///     0       4     magic "DGSY"
///     4       1     format version (1)
///     5       1     kind: 1 changes, 2 snapshot
///     6       1     flags: bit 0 more changes wait, bit 1 snapshot required
///     7       1     reserved (0)
///     8       4     inflated body length (LE)
///     12      4     compressed body length (LE)
///     16      …     zlib-compressed body
///
/// The body: schema version, the origin string table, two version vectors — `base` (what the
/// batch was computed after: the receiver must already hold it) and `vector` (the sender's own)
/// — then the changes. Within a body, `originSeq` and `hlc` are delta-encoded against the
/// previous change of the same origin, which is what makes metric-heavy batches compress well.
///
/// Decoding checks the frame's structure and bounds (origin ids, vector ranges, counts against
/// the bytes present); whether each change may be applied is the store's
/// `ReplicationGate`'s decision.
public struct SyncFrame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case changes = 1, snapshot = 2 }

    public static let magic: [UInt8] = Array("DGSY".utf8)
    public static let version: UInt8 = 1
    /// Bumped with the replicated tables' layout; peers must agree.
    public static var schemaVersion: UInt64 { MeshStore.schemaVersion }
    public static let headerSize = 16

    public var kind: Kind
    public var hasMore: Bool
    public var snapshotRequired: Bool
    public var base: [String: Int64]
    public var vector: [String: Int64]
    public var changes: [Change]

    public init(
        kind: Kind = .changes, hasMore: Bool = false, snapshotRequired: Bool = false, base: [String: Int64] = [:],
        vector: [String: Int64] = [:], changes: [Change] = []
    ) {
        self.kind = kind
        self.hasMore = hasMore
        self.snapshotRequired = snapshotRequired
        self.base = base
        self.vector = vector
        self.changes = changes
    }

    /// Sizes of an encoded frame, for metrics.
    public struct Sizes: Sendable {
        public var raw: Int
        public var wire: Int
    }

    // MARK: Encoding

    public func encoded(level: Int32 = 6) throws -> (bytes: [UInt8], sizes: Sizes) {
        var body = BinaryWriter(capacity: 64 + changes.count * 48)
        body.writeVarUInt(Self.schemaVersion)
        var origins: [String] = []
        var index: [String: Int] = [:]
        func originIndex(_ origin: String) -> Int {
            if let i = index[origin] { return i }
            index[origin] = origins.count
            origins.append(origin)
            return origins.count - 1
        }
        for change in changes { _ = originIndex(change.origin) }
        for origin in base.keys.sorted() { _ = originIndex(origin) }
        for origin in vector.keys.sorted() { _ = originIndex(origin) }
        body.writeVarUInt(UInt64(origins.count))
        for origin in origins { body.writeString(origin) }
        for map in [base, vector] {
            body.writeVarUInt(UInt64(map.count))
            for (origin, seq) in map.sorted(by: { $0.key < $1.key }) {
                body.writeVarUInt(UInt64(index[origin]!))
                body.writeVarInt(seq)
            }
        }
        body.writeVarUInt(UInt64(changes.count))
        var previous: [Int: (seq: Int64, hlc: Int64)] = [:]
        for change in changes {
            let o = index[change.origin]!
            let last = previous[o] ?? (0, 0)
            body.writeVarUInt(UInt64(o))
            body.writeVarInt(change.originSeq &- last.seq)
            body.writeVarInt(change.hlc.storedValue &- last.hlc)
            body.writeByte(change.table.rawValue)
            body.writeBytes(change.payload)
            previous[o] = (change.originSeq, change.hlc.storedValue)
        }
        let compressed = try Zlib.compress(body.bytes, level: level)
        var frame = BinaryWriter(capacity: Self.headerSize + compressed.count)
        frame.writeRaw(Self.magic)
        frame.writeByte(Self.version)
        frame.writeByte(kind.rawValue)
        frame.writeByte((hasMore ? 1 : 0) | (snapshotRequired ? 2 : 0))
        frame.writeByte(0)
        frame.writeUInt32(UInt32(body.bytes.count))
        frame.writeUInt32(UInt32(compressed.count))
        frame.writeRaw(compressed)
        return (frame.bytes, Sizes(raw: body.bytes.count, wire: frame.bytes.count))
    }

    // MARK: Decoding

    /// The inflated body size a frame's header declares (0 when there is no valid header).
    public static func declaredInflatedSize(_ bytes: [UInt8]) -> Int {
        guard bytes.count >= headerSize, Array(bytes[0..<4]) == magic else { return 0 }
        var reader = BinaryReader(bytes, offset: 8)
        return (try? reader.readUInt32()).map(Int.init) ?? 0
    }

    /// Why a frame was refused; maps to an HTTP status when a frame arrives in a request.
    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public enum Reason: Sendable { case tooLarge, malformed, incompatible }
        public let reason: Reason
        public let description: String
    }

    /// Decodes a frame, checking the compressed size against `maxFrame` and the declared inflated
    /// size against `maxInflated` *before* inflating anything.
    public static func decode(_ bytes: [UInt8], maxFrame: Int, maxInflated: Int) throws(DecodeError) -> SyncFrame {
        func malformed(_ message: String) -> DecodeError { DecodeError(reason: .malformed, description: message) }
        guard bytes.count >= headerSize else { throw malformed("frame shorter than its header") }
        guard Array(bytes[0..<4]) == magic else { throw malformed("not a sync frame (bad magic)") }
        guard bytes[4] == version else {
            throw DecodeError(reason: .incompatible, description: "unsupported frame version \(bytes[4])")
        }
        guard let kind = Kind(rawValue: bytes[5]) else { throw malformed("unknown frame kind \(bytes[5])") }
        var header = BinaryReader(bytes, offset: 8)
        let inflated: Int, compressed: Int
        do {
            inflated = Int(try header.readUInt32())
            compressed = Int(try header.readUInt32())
        } catch { throw malformed("truncated header") }
        guard compressed <= maxFrame, bytes.count <= maxFrame + headerSize else {
            throw DecodeError(reason: .tooLarge, description: "frame of \(bytes.count) bytes exceeds the \(maxFrame)-byte limit")
        }
        guard inflated <= maxInflated else {
            throw DecodeError(reason: .tooLarge, description: "frame declares \(inflated) inflated bytes, over the \(maxInflated)-byte limit")
        }
        guard bytes.count == headerSize + compressed else {
            throw malformed("frame body is \(bytes.count - headerSize) bytes, header says \(compressed)")
        }
        let body: [UInt8]
        do {
            body = try Zlib.decompress(bytes[headerSize...], expectedSize: inflated)
        } catch let failure as Zlib.Failure {
            throw DecodeError(
                reason: failure.description.contains("past") ? .tooLarge : .malformed, description: failure.description
            )
        } catch {
            throw malformed("\(error)")
        }
        do {
            return try decodeBody(body, kind: kind, flags: bytes[6])
        } catch let error as DecodeError {
            throw error
        } catch {
            throw malformed("corrupt frame body: \(error)")
        }
    }

    /// The most origins a frame may name: far more than a mesh of a handful of machines has.
    public static let maxOrigins = 10_000
    /// The fewest bytes one change takes in a body (origin, two deltas, table, payload length),
    /// so a claimed count can be checked against the bytes that are really there.
    static let minimumChangeSize = 5

    private static func decodeBody(_ body: [UInt8], kind: Kind, flags: UInt8) throws -> SyncFrame {
        var reader = BinaryReader(body)
        let schema = try reader.readVarUInt()
        guard schema == schemaVersion else {
            throw DecodeError(reason: .incompatible, description: "peer store schema \(schema), this node has \(schemaVersion)")
        }
        // Counts are claims: each is checked against the bytes left (every item takes at least
        // two) and a fixed bound before anything is allocated for it.
        let originCount = try reader.readVarUInt()
        guard originCount <= UInt64(maxOrigins), originCount <= UInt64(reader.remaining / 2) else {
            throw BinaryFormatError("origin count too large")
        }
        var origins: [String] = []
        origins.reserveCapacity(Int(originCount))
        for _ in 0..<originCount {
            let name = try reader.readString()
            guard MeshName.isValid(name) else { throw BinaryFormatError("origin is not a valid node id") }
            origins.append(name)
        }
        func origin(_ raw: UInt64) throws -> String {
            guard raw < UInt64(origins.count) else { throw BinaryFormatError("origin index out of range") }
            return origins[Int(raw)]
        }
        var maps: [[String: Int64]] = []
        for _ in 0..<2 {
            let count = try reader.readVarUInt()
            guard count <= UInt64(origins.count), count <= UInt64(reader.remaining / 2) else { throw BinaryFormatError("vector too large") }
            var map: [String: Int64] = [:]
            for _ in 0..<count {
                let name = try origin(try reader.readVarUInt())
                let seq = try reader.readVarInt()
                // A vector entry is a sequence number: in range, so sums and comparisons of
                // them (lag, "what the peer holds") can never overflow.
                guard (0...Change.maxSequence).contains(seq) else { throw BinaryFormatError("vector entry out of range") }
                map[name] = seq
            }
            maps.append(map)
        }
        let changeCount = try reader.readVarUInt()
        guard changeCount <= UInt64(reader.remaining / minimumChangeSize) else { throw BinaryFormatError("change count too large") }
        var changes: [Change] = []
        // Even a checked count may be millions: reserve a bounded amount, let the array grow.
        changes.reserveCapacity(Int(min(changeCount, 4096)))
        var previous: [UInt64: (seq: Int64, hlc: Int64)] = [:]
        for _ in 0..<changeCount {
            let o = try reader.readVarUInt()
            let name = try origin(o)
            let last = previous[o] ?? (0, 0)
            let seq = last.seq &+ (try reader.readVarInt())
            let hlc = last.hlc &+ (try reader.readVarInt())
            let rawTable = try reader.readByte()
            guard let table = ReplicatedTable(rawValue: rawTable) else { throw BinaryFormatError("unknown table \(rawTable)") }
            let payload = try reader.readBytes()
            changes.append(Change(origin: name, originSeq: seq, hlc: HLCTimestamp(storedValue: hlc), table: table, payload: payload))
            previous[o] = (seq, hlc)
        }
        guard reader.isAtEnd else { throw BinaryFormatError("trailing bytes in frame body") }
        return SyncFrame(
            kind: kind, hasMore: flags & 1 != 0, snapshotRequired: flags & 2 != 0, base: maps[0], vector: maps[1],
            changes: changes
        )
    }
}
