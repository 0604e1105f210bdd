/// A set of byte strings (client addresses) stored in one arena: inserting a string already
/// present allocates nothing. Open addressing with linear probing, load factor ≤ 1/2.
struct ByteStringSet {
    private var table: [UInt32]
    private var offsets: [UInt32] = []
    private var lengths: [UInt32] = []
    private var hashes: [UInt32] = []
    private var arena: [UInt8] = []

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        table = Array(repeating: 0, count: size)
    }

    /// Number of distinct strings.
    var count: Int { offsets.count }

    /// Inserts `bytes`; returns `true` when it was not present.
    @discardableResult
    mutating func insert(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let h = Self.hash(bytes)
        let mask = table.count - 1
        var i = Int(h) & mask
        while true {
            let slot = table[i]
            if slot == 0 { break }
            let e = Int(slot - 1)
            if hashes[e] == h, Int(lengths[e]) == bytes.count {
                let off = Int(offsets[e])
                let same = arena.withUnsafeBytes { a in
                    bytes.count == 0 || memcmpEqual(a.baseAddress! + off, bytes.baseAddress!, bytes.count)
                }
                if same { return false }
            }
            i = (i + 1) & mask
        }
        offsets.append(UInt32(arena.count))
        lengths.append(UInt32(bytes.count))
        hashes.append(h)
        arena.append(contentsOf: bytes)
        table[i] = UInt32(offsets.count)
        if offsets.count * 2 > table.count { grow() }
        return true
    }

    /// Inserts every string of `other`.
    mutating func formUnion(_ other: ByteStringSet) {
        other.forEach { insert($0) }
    }

    /// Calls `body` with each string.
    func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
        arena.withUnsafeBytes { a in
            for e in 0..<offsets.count {
                body(UnsafeRawBufferPointer(rebasing: a[Int(offsets[e])..<(Int(offsets[e]) + Int(lengths[e]))]))
            }
        }
    }

    private mutating func grow() {
        var t = Array(repeating: UInt32(0), count: table.count * 2)
        let mask = t.count - 1
        for e in 0..<hashes.count {
            var i = Int(hashes[e]) & mask
            while t[i] != 0 { i = (i + 1) & mask }
            t[i] = UInt32(e + 1)
        }
        table = t
    }

    /// A fast 32-bit hash of bytes (8-byte words mixed by multiplication, then folded).
    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(b.count)
        var i = 0
        let n = b.count
        while i + 8 <= n {
            let w = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n { w |= UInt64(b[i]) << shift; shift += 8; i += 1 }
            h = (h ^ w) &* 0xC4CE_B9FE_1A85_EC53
        }
        h ^= h >> 29
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}

/// A set of non-negative integers (`$connection` serial numbers); open addressing, load ≤ 1/2.
struct IntegerSet {
    private var table: [Int64]
    private(set) var count = 0

    init() { table = Array(repeating: -1, count: 16) }

    @discardableResult
    mutating func insert(_ v: Int64) -> Bool {
        let mask = table.count - 1
        var i = Int(truncatingIfNeeded: UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15 >> 32) & mask
        while true {
            let x = table[i]
            if x == v { return false }
            if x < 0 { break }
            i = (i + 1) & mask
        }
        table[i] = v
        count += 1
        if count * 2 > table.count {
            let old = table
            table = Array(repeating: -1, count: old.count * 2)
            count = 0
            for x in old where x >= 0 { insert(x) }
        }
        return true
    }

    mutating func formUnion(_ other: IntegerSet) { other.forEach { insert($0) } }

    func forEach(_ body: (Int64) -> Void) { for x in table where x >= 0 { body(x) } }
}
