import CZlib

/// gzip (RFC 1952) through zlib: the spool stores each batch as the exact
/// gzip body the forwarder sends with `Content-Encoding: gzip`.
///
/// zlib's `deflateInit2`/`inflateInit2` with `windowBits` 31 (15 + 16)
/// write and read the gzip wrapper (https://zlib.net/manual.html#Advanced).
public enum Gzip {
    /// Compresses `bytes` into one gzip member.
    /// - Parameter level: zlib level 0–9 (default 6).
    /// - Throws: ``DeliveryError`` `.compression` when zlib fails.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(DeliveryError) -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init2(&stream, level, 31) == Z_OK else {
            throw DeliveryError(.compression, "deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 32
        var out = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let rc: Int32 = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { outp in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = outp.baseAddress
                stream.avail_out = uInt(outp.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw DeliveryError(.compression, "deflate returned \(rc)") }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }

    /// Decompresses one or more gzip members.
    /// - Parameter limit: refuse output larger than this many bytes (default 64 MiB).
    /// - Throws: ``DeliveryError`` `.compression` for corrupt or truncated input.
    public static func decompress(_ bytes: [UInt8], limit: Int = 64 << 20) throws(DeliveryError) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init2(&stream, 31) == Z_OK else { throw DeliveryError(.compression, "inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var input = bytes
        var rc: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { (inp) throws(DeliveryError) in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    return c.count - Int(stream.avail_out)
                }
                out.append(contentsOf: chunk[0..<produced])
                if out.count > limit { throw DeliveryError(.compression, "gzip output exceeds \(limit) bytes") }
                if rc == Z_STREAM_END {
                    if stream.avail_in == 0 { return }
                    inflateReset(&stream)  // another member follows
                    continue
                }
                if rc == Z_BUF_ERROR { throw DeliveryError(.compression, "truncated gzip data") }
                guard rc == Z_OK else { throw DeliveryError(.compression, "inflate returned \(rc): corrupt gzip data") }
                if stream.avail_in == 0 && produced == 0 { throw DeliveryError(.compression, "truncated gzip data") }
            }
        }
        return out
    }
}
