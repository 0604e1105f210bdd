import CZlib

/// gzip (RFC 1952) through zlib, for the whole program family: the agent's spool stores each
/// batch as the exact gzip body the forwarder sends with `Content-Encoding: gzip`, and the
/// ingest inflates such bodies with a limit (a small body may inflate enormously).
///
/// zlib's `deflateInit2`/`inflateInit2` with `windowBits` 31 (15 + 16) write and read the gzip
/// wrapper (https://zlib.net/manual.html#Advanced). This file is the only caller of both.
package enum Gzip {
    /// Why zlib refused.
    package enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not a valid gzip stream, or a truncated one (zlib's message).
        case invalid(String)
        /// The decompressed size passed the limit, bytes.
        case tooLarge(Int)
        /// Compression failed (zlib's return code); only when zlib itself fails (memory).
        case deflate(Int32)

        /// For example `truncated gzip data` or `gzip output exceeds 1000 bytes`.
        package var description: String {
            switch self {
            case .invalid(let message): message
            case .tooLarge(let limit): "gzip output exceeds \(limit) bytes"
            case .deflate(let rc): "deflate returned \(rc)"
            }
        }
    }

    /// Compresses `bytes` into one gzip member.
    /// - Parameter level: zlib level 0–9 (default 6).
    /// - Throws: ``Failure/deflate(_:)`` when zlib fails.
    package static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        let initialised = czlib_deflate_init2(&stream, level, 31)
        guard initialised == Z_OK else { throw .deflate(initialised) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 32
        var out = [UInt8](repeating: 0, count: bound)
        let rc: Int32 = bytes.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { outp in
                stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                stream.avail_in = uInt(inp.count)
                stream.next_out = outp.baseAddress
                stream.avail_out = uInt(outp.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw .deflate(rc) }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }

    /// Decompresses one gzip member or several concatenated ones (RFC 1952 §2.2).
    /// - Parameter limit: refuse output larger than this many bytes (default 64 MiB).
    /// - Throws: ``Failure/invalid(_:)`` for corrupt or truncated input, ``Failure/tooLarge(_:)``.
    package static func decompress(_ bytes: [UInt8], limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init2(&stream, 31) == Z_OK else { throw .invalid("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(4096, bytes.count * 6)))
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var failure: Failure?
        bytes.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let rc = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > limit {
                    failure = .tooLarge(limit)
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END {
                    if stream.avail_in == 0 { return }
                    // Another member follows.
                    guard inflateReset(&stream) == Z_OK else { failure = .invalid("inflateReset failed"); return }
                    continue
                }
                if rc == Z_BUF_ERROR || (rc == Z_OK && stream.avail_in == 0 && produced == 0) {
                    failure = .invalid("truncated gzip data")
                    return
                }
                guard rc == Z_OK else {
                    let message = stream.msg.map { String(cString: $0) } ?? "inflate returned \(rc)"
                    failure = .invalid("corrupt gzip data (\(message))")
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
