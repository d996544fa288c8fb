import CZlib

/// zlib (RFC 1950) compression for sync frames.
///
/// Decompression never allocates past the size the frame declares (itself bounded by the
/// caller's limit), and fails if the stream inflates to more or less: a zip bomb stops at the
/// limit instead of exhausting memory. zlib's Adler-32 trailer catches corruption.
public enum Zlib {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { src in
                compress2(out.baseAddress, &length, src.baseAddress, uLong(src.count), level)
            }
        }
        guard status == Z_OK else { throw Failure(description: "zlib compress failed (\(status))") }
        output.removeSubrange(Int(length)...)
        return output
    }

    /// Inflates `input`, which must expand to exactly `expectedSize` bytes.
    public static func decompress(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        guard expectedSize >= 0 else { throw Failure(description: "negative size") }
        var output = [UInt8](repeating: 0, count: max(1, expectedSize))
        var outLength = uLong(expectedSize)
        var inLength = uLong(input.count)
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { src in
                uncompress2(out.baseAddress, &outLength, src.baseAddress, &inLength)
            }
        }
        switch status {
        case Z_OK:
            guard Int(outLength) == expectedSize else {
                throw Failure(description: "inflated to \(outLength) bytes, \(expectedSize) declared")
            }
            guard Int(inLength) == input.count else { throw Failure(description: "trailing bytes after the zlib stream") }
            if expectedSize == 0 { output.removeAll() }
            return output
        case Z_BUF_ERROR:
            throw Failure(description: Int(outLength) >= expectedSize
                ? "inflates past the \(expectedSize) bytes declared" : "truncated zlib stream")
        case Z_DATA_ERROR:
            throw Failure(description: "corrupt zlib stream")
        default:
            throw Failure(description: "zlib error \(status)")
        }
    }
}
