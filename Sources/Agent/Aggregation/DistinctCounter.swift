/// Counts distinct values (client addresses, `$connection` numbers) in memory that does not
/// depend on how many distinct values clients send: the `distinct_clients` and
/// `distinct_connections` fields of `nginx_access`.
///
/// - Up to ``exactLimit`` (512) distinct values it is **exact** (up to collisions of the 64-bit
///   hash, about n²/2⁶⁵: none in practice): a small open-addressing table of hashes.
/// - Beyond that it is a **HyperLogLog** sketch with 2¹² = 4,096 one-byte registers (precision
///   12, 64-bit hash), estimated with Ertl's improved raw estimator (O. Ertl, "New cardinality
///   estimation algorithms for HyperLogLog sketches", 2017, arXiv:1702.01284, algorithm 6; the
///   estimator Redis uses since 4.0), which needs no empirical bias tables and is unbiased from
///   small to very large counts. Relative standard error 1.04/√4096 ≈ **1.6 %**
///   (``relativeStandardError``): within ±3.3 % for 95 % of windows and ±4.9 % (3σ) for 99.7 %.
///
/// Memory: at most 8 KiB of table while exact, then 4 KiB of registers, whatever is inserted
/// (``byteCount``). Own code rather than a library because the state must be this small, mergeable
/// (``formUnion(_:)``: union of two windows, register-wise maximum) and saved in the agent's
/// snapshot byte for byte (``encode(into:)``).
///
/// ```swift
/// var clients = DistinctCounter()
/// clients.insert(hash: DistinctCounter.hash(addressBytes))
/// clients.insert(hash: DistinctCounter.hash(connection))
/// let n = clients.estimate   // Int64
/// ```
struct DistinctCounter: Sendable {
    /// Register index bits.
    static let precision = 12
    /// Registers in the sketch (2¹²).
    static let registerCount = 1 << precision
    /// Distinct values counted exactly before switching to the sketch.
    static let exactLimit = 512
    /// Relative standard error of the sketch, 1.04/√m with m = 4,096: about 0.01625.
    static let relativeStandardError = 1.04 / 64.0

    /// Exact mode: hashes in open addressing (0 = empty slot; a hash of 0 is stored as 1).
    private var table: [UInt64] = []
    private var exactCount = 0
    /// Sketch mode: one register per index (empty while exact).
    private var registers: [UInt8] = []

    init() {}

    /// Whether the count is still exact.
    var isExact: Bool { registers.isEmpty }

    /// Heap bytes held: the table or the registers.
    var byteCount: Int { table.capacity * 8 + registers.capacity }

    /// Adds a value by its 64-bit hash (`hash(_:)` of the bytes or the integer).
    @inline(__always)
    mutating func insert(hash h: UInt64) {
        if registers.isEmpty {
            insertExact(h == 0 ? 1 : h)
        } else {
            addToRegisters(h)
        }
    }

    private mutating func insertExact(_ h: UInt64) {
        if table.isEmpty { table = Array(repeating: 0, count: 16) }
        let mask = table.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let x = table[i]
            if x == h { return }
            if x == 0 { break }
            i = (i + 1) & mask
        }
        if exactCount == Self.exactLimit {
            toSketch()
            addToRegisters(h)
            return
        }
        table[i] = h
        exactCount += 1
        if exactCount * 2 > table.count { grow() }
    }

    private mutating func grow() {
        let old = table
        table = Array(repeating: 0, count: old.count * 2)
        let mask = table.count - 1
        for h in old where h != 0 {
            var i = Int(truncatingIfNeeded: h) & mask
            while table[i] != 0 { i = (i + 1) & mask }
            table[i] = h
        }
    }

    private mutating func toSketch() {
        registers = Array(repeating: 0, count: Self.registerCount)
        for h in table where h != 0 { addToRegisters(h) }
        table = []
        exactCount = 0
    }

    @inline(__always)
    private mutating func addToRegisters(_ h: UInt64) {
        let index = Int(truncatingIfNeeded: h >> UInt64(64 - Self.precision))
        let rest = h << UInt64(Self.precision)
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - Self.precision) + 1)
        registers.withUnsafeMutableBufferPointer { r in
            if rank > r[index] { r[index] = rank }
        }
    }

    /// The number of distinct values: exact while ``isExact``, else the sketch's estimate.
    var estimate: Int64 {
        if registers.isEmpty { return Int64(exactCount) }
        let q = 64 - Self.precision
        let m = Double(Self.registerCount)
        var histogram = Array(repeating: 0, count: q + 2)
        for r in registers { histogram[Int(r)] += 1 }
        var z = m * Self.tau(1 - Double(histogram[q + 1]) / m)
        var k = q
        while k >= 1 {
            z = 0.5 * (z + Double(histogram[k]))
            k -= 1
        }
        z += m * Self.sigma(Double(histogram[0]) / m)
        let alphaInfinity = 1 / (2 * 0.693_147_180_559_945_3)
        let e = alphaInfinity * m * m / z
        return e.isFinite ? Int64(e.rounded()) : 0
    }

    /// Ertl's σ(x) = x + Σ_{k≥1} x^{2^k} 2^{k-1}.
    private static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return .infinity }
        var x = x0, y = 1.0, z = x0
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if z == previous { return z }
        }
    }

    /// Ertl's τ(x) = (1 − x − Σ_{k≥1} (1 − x^{2^{−k}})² 2^{−k}) / 3.
    private static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0, y = 1.0, z = 1 - x0
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == previous { return z / 3 }
        }
    }

    /// Adds every value counted by `other` (for totals over several windows).
    mutating func formUnion(_ other: DistinctCounter) {
        if other.registers.isEmpty {
            for h in other.table where h != 0 { insert(hash: h) }
            return
        }
        if registers.isEmpty { toSketch() }
        for i in 0..<Self.registerCount where other.registers[i] > registers[i] { registers[i] = other.registers[i] }
    }

    // MARK: Hashing

    /// A 64-bit hash of bytes (MurmurHash3-style mixing of 8-byte words, `fmix64` finaliser):
    /// every input bit affects every output bit, as HyperLogLog needs.
    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let c1: UInt64 = 0x87C3_7B91_1142_53D5, c2: UInt64 = 0x4CF5_AD43_2745_937F
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        let n = b.count
        var i = 0
        while i + 8 <= n {
            var k = b.loadUnaligned(fromByteOffset: i, as: UInt64.self) &* c1
            k = (k << 31 | k >> 33) &* c2
            h ^= k
            h = (h << 27 | h >> 37) &* 5 &+ 0x52DC_E729
            i += 8
        }
        if i < n {
            var k: UInt64 = 0
            var shift: UInt64 = 0
            while i < n { k |= UInt64(b[i]) << shift; shift += 8; i += 1 }
            k = k &* c1
            k = (k << 31 | k >> 33) &* c2
            h ^= k
        }
        return fmix64(h ^ UInt64(n))
    }

    /// A 64-bit hash of an integer (`fmix64` of MurmurHash3).
    @inline(__always)
    static func hash(_ v: Int64) -> UInt64 { fmix64(UInt64(bitPattern: v) &+ 0x9E37_79B9_7F4A_7C15) }

    @inline(__always)
    static func fmix64(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k = k &* 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k = k &* 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    // MARK: Snapshot

    /// Appends the state: a mode byte (0 exact, 1 sketch), then the exact hashes (u32 count × u64,
    /// ascending, so equal states encode alike) or the 4,096 registers.
    func encode(into w: inout SnapshotWriter) {
        if registers.isEmpty {
            w.bytes.append(0)
            w.u32(exactCount)
            for h in table.filter({ $0 != 0 }).sorted() { w.i64(Int64(bitPattern: h)) }
        } else {
            w.bytes.append(1)
            w.bytes.append(contentsOf: registers)
        }
    }

    /// Reads what ``encode(into:)`` wrote.
    /// - Throws: ``AggregationError`` `.snapshot` when truncated or of an unknown mode.
    static func decode(from r: inout SnapshotReader) throws -> DistinctCounter {
        var c = DistinctCounter()
        switch try r.u8() {
        case 0:
            let n = try r.u32()
            guard n <= exactLimit else {
                throw AggregationError(.snapshot, "distinct counter holds \(n) exact values, at most \(exactLimit)", key: "distinct")
            }
            for _ in 0..<n { c.insert(hash: UInt64(bitPattern: try r.i64())) }
        case 1:
            c.registers = try r.raw(registerCount)
            guard c.registers.allSatisfy({ Int($0) <= 64 - precision + 1 }) else {
                throw AggregationError(.snapshot, "distinct counter register out of range", key: "distinct")
            }
        case let mode:
            throw AggregationError(.snapshot, "distinct counter of unknown mode \(mode)", key: "distinct")
        }
        return c
    }
}
