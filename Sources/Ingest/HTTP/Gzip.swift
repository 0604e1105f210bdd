import CZlib

/// Decompresses a `Content-Encoding: gzip` body (RFC 1952) with zlib, refusing
/// to produce more than a limit (a small body may inflate enormously).
public enum Gzip {
    /// The outcome of ``inflate(_:limit:)``.
    public enum Failure: Error {
        /// Not a valid gzip stream (zlib's message).
        case invalid(String)
        /// The decompressed size passed `limit` bytes.
        case tooLarge(Int)
    }

    /// Inflates one gzip member (or several concatenated members).
    /// - Parameter limit: most decompressed bytes allowed.
    /// - Throws: ``Failure``.
    public static func inflate(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init2(&stream, 15 + 16) == Z_OK else { throw .invalid("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(4096, input.count * 6)))
        var chunk = [UInt8](repeating: 0, count: 65536)
        var failure: Failure?
        input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            while true {
                let rc = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > limit {
                    failure = .tooLarge(limit)
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END {
                    // Another member may follow (RFC 1952 §2.2).
                    if stream.avail_in > 0 {
                        guard inflateReset(&stream) == Z_OK else { failure = .invalid("inflateReset failed"); return }
                        continue
                    }
                    return
                }
                if rc == Z_BUF_ERROR && stream.avail_in == 0 {
                    failure = .invalid("gzip stream is truncated")
                    return
                }
                if rc != Z_OK {
                    let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                    failure = .invalid(msg)
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Compresses `input` as one gzip member (for tests and clients).
    public static func deflate(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init2(&stream, level, 15 + 16) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
            }
        }
        return Array(output[0..<Int(stream.total_out)])
    }
}
