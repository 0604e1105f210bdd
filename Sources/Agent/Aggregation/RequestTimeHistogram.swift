/// Exact distribution of `$request_time` values over one window, at NGINX's resolution (whole
/// milliseconds): a count per millisecond value, dense up to ``denseLimit`` ms and sparse above.
///
/// Memory is bounded by the number of distinct millisecond values (at most
/// `denseLimit × 4` bytes dense, typically a few KB), never by the number of requests.
///
/// Quantiles use the nearest-rank method: the p-quantile is the smallest logged value `v` such
/// that at least `⌈p·n⌉` of the `n` values are `≤ v`. Exact, because NGINX logs request_time
/// with millisecond resolution.
struct RequestTimeHistogram {
    /// Values below this many milliseconds are counted in the dense array.
    static let denseLimit = 16_384

    private(set) var dense: [UInt32] = []
    private(set) var sparse: [Int64: UInt32] = [:]
    private(set) var count: Int64 = 0
    private(set) var maximum: Int64 = -1

    @inline(__always)
    mutating func add(milliseconds v: Int64, times n: UInt32 = 1) {
        if v < Int64(Self.denseLimit) {
            let i = Int(v)
            if i >= dense.count {
                var newCount = Swift.max(64, dense.count)
                while newCount <= i { newCount *= 2 }
                dense.append(contentsOf: repeatElement(0, count: Swift.min(newCount, Self.denseLimit) - dense.count))
            }
            dense[i] &+= n
        } else {
            sparse[v, default: 0] &+= n
        }
        count += Int64(n)
        if v > maximum { maximum = v }
    }

    /// Heap bytes held (approximately, for the sparse part: 16 bytes per entry).
    var byteCount: Int { dense.capacity * 4 + sparse.count * 16 }

    mutating func merge(_ other: RequestTimeHistogram) {
        other.forEach { add(milliseconds: $0, times: $1) }
    }

    /// Calls `body` with every (value ms, count) pair, ascending.
    func forEach(_ body: (Int64, UInt32) -> Void) {
        for (i, c) in dense.enumerated() where c > 0 { body(Int64(i), c) }
        for k in sparse.keys.sorted() { body(k, sparse[k]!) }
    }

    /// The nearest-rank quantiles for `perMille` (each in 0…1000, e.g. 990 for p99), in
    /// milliseconds; empty when there are no values. Ranks are computed in integers
    /// (`⌈pm·n/1000⌉`), so no floating-point rounding moves a rank.
    func quantiles(perMille ps: [Int64]) -> [Int64] {
        guard count > 0 else { return [] }
        let ranks = ps.map { pm -> Int64 in Swift.max(1, (pm * count + 999) / 1000) }
        var out = Array(repeating: maximum, count: ps.count)
        var seen: Int64 = 0
        var next = 0
        let order = ranks.indices.sorted { ranks[$0] < ranks[$1] }
        forEach { v, c in
            seen += Int64(c)
            while next < order.count, ranks[order[next]] <= seen {
                out[order[next]] = v
                next += 1
            }
        }
        return out
    }
}
