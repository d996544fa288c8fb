import Foundation
import GRDB
import MeshCore

/// Encodes a row's column values compactly for the change log and the wire.
///
/// Each value is a tag byte followed by its data: null, a zig-zag varint integer, an 8-byte
/// double, or length-prefixed text/blob. Primary key columns come first, so the encoded key
/// is a prefix of the encoded row.
enum ValueCodec {
    private enum Tag: UInt8 {
        case null = 0, integer = 1, real = 2, text = 3, blob = 4
    }

    static func encode(_ value: DatabaseValue, into writer: inout BinaryWriter) {
        switch value.storage {
        case .null:
            writer.writeByte(Tag.null.rawValue)
        case .int64(let i):
            writer.writeByte(Tag.integer.rawValue)
            writer.writeVarInt(i)
        case .double(let d):
            writer.writeByte(Tag.real.rawValue)
            writer.writeUInt64(d.bitPattern)
        case .string(let s):
            writer.writeByte(Tag.text.rawValue)
            writer.writeString(s)
        case .blob(let data):
            writer.writeByte(Tag.blob.rawValue)
            writer.writeBytes(data)
        }
    }

    /// Encodes `values`, returning the whole row and the length of its key prefix.
    static func encode(_ values: [DatabaseValue], keyCount: Int) -> (row: [UInt8], keyLength: Int) {
        var writer = BinaryWriter(capacity: 64)
        var keyLength = 0
        for (index, value) in values.enumerated() {
            if index == keyCount { keyLength = writer.bytes.count }
            encode(value, into: &writer)
        }
        if keyCount >= values.count { keyLength = writer.bytes.count }
        return (writer.bytes, keyLength)
    }

    /// Decodes exactly `count` values, also returning where the first `keyCount` of them end.
    static func decode(_ bytes: [UInt8], count: Int, keyCount: Int) throws -> (values: [DatabaseValue], keyLength: Int) {
        var reader = BinaryReader(bytes)
        var values: [DatabaseValue] = []
        values.reserveCapacity(count)
        var keyLength = 0
        for index in 0..<count {
            if index == keyCount { keyLength = reader.offset }
            let raw = try reader.readByte()
            guard let tag = Tag(rawValue: raw) else { throw BinaryFormatError("unknown value tag \(raw)") }
            switch tag {
            case .null: values.append(.null)
            case .integer: values.append(try reader.readVarInt().databaseValue)
            case .real: values.append(Double(bitPattern: try reader.readUInt64()).databaseValue)
            case .text: values.append(try reader.readString().databaseValue)
            case .blob: values.append(Data(try reader.readBytes()).databaseValue)
            }
        }
        if keyCount >= count { keyLength = reader.offset }
        guard reader.isAtEnd else { throw BinaryFormatError("trailing bytes after \(count) values") }
        return (values, keyLength)
    }
}
