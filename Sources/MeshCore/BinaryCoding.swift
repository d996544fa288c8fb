/// Little helpers for the compact binary formats (change payloads, sync frames): LEB128 varints,
/// fixed-width integers and length-prefixed bytes. Readers never trust lengths: every read is
/// bounds-checked and fails with `BinaryFormatError` instead of trapping.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeByte(_ byte: UInt8) { bytes.append(byte) }

    public mutating func writeVarUInt(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zig-zag encodes so small negative numbers stay small.
    public mutating func writeVarInt(_ value: Int64) {
        writeVarUInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func writeUInt64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeUInt32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeBytes(_ data: some Collection<UInt8>) {
        writeVarUInt(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    public mutating func writeRaw(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }

    public mutating func writeString(_ string: String) {
        var s = string
        s.withUTF8 { writeBytes($0) }
    }
}

/// Raised when binary input is truncated or malformed.
public struct BinaryFormatError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A cursor over bytes that validates every read.
public struct BinaryReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    public var isAtEnd: Bool { offset >= end }
    public var remaining: Int { end - offset }

    public mutating func readByte() throws -> UInt8 {
        guard offset < end else { throw BinaryFormatError("unexpected end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readVarUInt() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw BinaryFormatError("varint too long") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    public mutating func readVarInt() throws -> Int64 {
        let raw = try readVarUInt()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    public mutating func readUInt64() throws -> UInt64 {
        guard remaining >= 8 else { throw BinaryFormatError("unexpected end of data") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return value
    }

    public mutating func readUInt32() throws -> UInt32 {
        guard remaining >= 4 else { throw BinaryFormatError("unexpected end of data") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return value
    }

    /// Reads a length-prefixed run of bytes, returning its range in `bytes` (no copy).
    public mutating func readBytesRange() throws -> Range<Int> {
        let length = try readVarUInt()
        guard length <= UInt64(remaining) else { throw BinaryFormatError("length \(length) exceeds the data") }
        let range = offset..<(offset + Int(length))
        offset += Int(length)
        return range
    }

    public mutating func readBytes() throws -> [UInt8] { Array(bytes[try readBytesRange()]) }

    public mutating func readString() throws -> String {
        let range = try readBytesRange()
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            throw BinaryFormatError("invalid UTF-8 text")
        }
        return s
    }

    public mutating func skip(_ count: Int) throws {
        guard count >= 0, count <= remaining else { throw BinaryFormatError("unexpected end of data") }
        offset += count
    }
}
