/// Where a ``LogTail`` stands in one file: the file's identity and the offset
/// just past the last complete line handed out.
///
/// A file is identified by its device and inode (`stat(2)` `st_dev`, `st_ino`)
/// and a fingerprint of its first bytes, never by its path: a file keeps its
/// identity when rotation renames it, and a new file that reuses a freed inode
/// has a different fingerprint. The fingerprint is the 64-bit FNV-1a hash of
/// the file's first ``fingerprintLength`` bytes (at most 256; fewer while the
/// file was shorter, growing with the file).
///
/// Store them with the data they account for: ``LogTail/checkpointData()``
/// gives a compact encoding, ``CheckpointStore`` keeps them in SQLite.
public struct FileCheckpoint: Sendable, Hashable, CustomStringConvertible {
    /// `st_dev` of the file.
    public var device: UInt64
    /// `st_ino` of the file.
    public var inode: UInt64
    /// How many first bytes the fingerprint covers (0…256).
    public var fingerprintLength: Int
    /// FNV-1a 64 of the first `fingerprintLength` bytes.
    public var fingerprint: UInt64
    /// Bytes from the file's start to the end of the last complete line handed out (newline included).
    public var offset: Int64
    /// The path the file was last seen at (for people; not used to match).
    public var path: String

    /// Creates a checkpoint.
    public init(device: UInt64, inode: UInt64, fingerprintLength: Int, fingerprint: UInt64, offset: Int64, path: String) {
        self.device = device
        self.inode = inode
        self.fingerprintLength = fingerprintLength
        self.fingerprint = fingerprint
        self.offset = offset
        self.path = path
    }

    /// For example `/var/log/nginx/access.log dev=2049 ino=131 fp=256:9ae1… offset=4096`.
    public var description: String {
        "\(path) dev=\(device) ino=\(inode) fp=\(fingerprintLength):\(String(fingerprint, radix: 16)) offset=\(offset)"
    }

    // MARK: Compact encoding

    static let magic: [UInt8] = Array("LTC1".utf8)

    /// Encodes checkpoints as bytes: `LTC1`, a count (u32), then per file
    /// device, inode (u64), fingerprint length (u16), fingerprint (u64),
    /// offset (i64), path length (u16) and the path's UTF-8; integers little-endian.
    public static func encode(_ checkpoints: [FileCheckpoint]) -> [UInt8] {
        var out = magic
        out.reserveCapacity(8 + checkpoints.count * 48)
        put(UInt64(checkpoints.count), 4, into: &out)
        for c in checkpoints {
            put(c.device, 8, into: &out)
            put(c.inode, 8, into: &out)
            put(UInt64(c.fingerprintLength), 2, into: &out)
            put(c.fingerprint, 8, into: &out)
            put(UInt64(bitPattern: c.offset), 8, into: &out)
            let path = Array(c.path.utf8.prefix(0xFFFF))
            put(UInt64(path.count), 2, into: &out)
            out += path
        }
        return out
    }

    /// Decodes what ``encode(_:)`` wrote. Empty input gives no checkpoints.
    /// - Throws: ``LogTailError`` with code `badCheckpointData` for anything else.
    public static func decode(_ data: [UInt8]) throws -> [FileCheckpoint] {
        if data.isEmpty { return [] }
        var at = 0
        func take(_ n: Int) throws -> UInt64 {
            guard at + n <= data.count else {
                throw LogTailError(code: .badCheckpointData, path: "", detail: "truncated at byte \(at)")
            }
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(data[at + i]) << (8 * UInt64(i)) }
            at += n
            return v
        }
        guard data.count >= 8, Array(data[0..<4]) == magic else {
            throw LogTailError(code: .badCheckpointData, path: "", detail: "does not start with LTC1")
        }
        at = 4
        let count = Int(try take(4))
        var result: [FileCheckpoint] = []
        result.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            let device = try take(8)
            let inode = try take(8)
            let fpLength = Int(try take(2))
            let fp = try take(8)
            let offset = Int64(bitPattern: try take(8))
            let pathLength = Int(try take(2))
            guard fpLength <= Fingerprint.maxLength, offset >= 0, at + pathLength <= data.count else {
                throw LogTailError(code: .badCheckpointData, path: "", detail: "bad entry ending at byte \(at)")
            }
            let path = String(decoding: data[at..<(at + pathLength)], as: UTF8.self)
            at += pathLength
            result.append(FileCheckpoint(device: device, inode: inode, fingerprintLength: fpLength,
                                         fingerprint: fp, offset: offset, path: path))
        }
        guard at == data.count else {
            throw LogTailError(code: .badCheckpointData, path: "", detail: "\(data.count - at) bytes left over")
        }
        return result
    }

    private static func put(_ v: UInt64, _ n: Int, into out: inout [UInt8]) {
        for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}

/// The fingerprint of a file's first bytes (see ``FileCheckpoint``).
enum Fingerprint {
    /// Bytes covered once the file is long enough.
    static let maxLength = 256
    /// A file is taken for a copy of another (copytruncate) only when their
    /// first bytes agree over at least this many bytes: shorter prefixes are
    /// too likely to agree by chance.
    static let minimumForCopy = 64

    /// 64-bit FNV-1a (http://www.isthe.com/chongo/tech/comp/fnv/).
    static func hash(_ bytes: some Collection<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }
}
