import Parsers

/// The most viewed (or downloaded) Clowder resources of a window in bounded memory: the
/// Space-Saving algorithm (A. Metwally, D. Agrawal, A. El Abbadi, "Efficient Computation of
/// Frequent and Top-k Elements in Data Streams", ICDT 2005) over ``capacity`` counters.
///
/// A resource not monitored replaces the one with the smallest count `c` and starts at `c + 1`
/// with error `c`. So every reported count is an upper bound and `count − error` a lower bound
/// of the true count; every resource seen more than N/``capacity`` times (N: views in the
/// window) is monitored; and when the k-th and (k+1)-th true counts are further apart than the
/// smallest monitored count, the reported top k are exactly the true top k. With ``capacity``
/// = 32·K that holds on real traffic, where a few resources take most views.
///
/// A min-heap on the counts with an index per resource (an open-addressing table of heap
/// positions, linear probing, each heap entry knowing its table slot, so a heap swap costs no
/// hashing): O(log capacity) per view, and ``capacity`` × about 44 bytes whatever clients request. Own code rather than a library: the
/// state is saved in the agent's snapshot (``encode(into:)``) and must not allocate per view.
///
/// ```swift
/// var top = TopResources(k: 10)
/// top.add(ResourceKey(hex: idBytes, type: .file)!)
/// for entry in top.top() { print(entry.key.hex, entry.count, entry.error) }
/// ```
struct TopResources: Sendable {
    /// A Clowder resource: its 24-hex id (a MongoDB ObjectId) in 12 bytes, and its type.
    struct ResourceKey: Hashable, Sendable {
        var high: UInt64
        var low: UInt32
        var type: ClowderClassification.ResourceType

        /// Parses 24 hexadecimal digits (either case); nil for anything else.
        init?(hex: UnsafeRawBufferPointer, type: ClowderClassification.ResourceType) {
            guard hex.count == 24 else { return nil }
            var h: UInt64 = 0, l: UInt32 = 0
            var bad = false
            for i in 0..<24 {
                let c = hex[i]
                // Branch-free: a digit is `c & 15`; a letter (either case) is `(c & 15) + 9`.
                bad = bad || !((c &- 48) < 10 || ((c | 0x20) &- 97) < 6)
                let v = (c & 15) &+ (c >> 6) &* 9
                if i < 16 { h = h << 4 | UInt64(v) } else { l = l << 4 | UInt32(v) }
            }
            if bad { return nil }
            high = h
            low = l
            self.type = type
        }

        init(high: UInt64, low: UInt32, type: ClowderClassification.ResourceType) {
            self.high = high
            self.low = low
            self.type = type
        }

        /// The id as 24 lowercase hexadecimal digits.
        var hex: String {
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(24)
            for i in (0..<16).reversed() { out.append(digits[Int(high >> UInt64(4 * i) & 15)]) }
            for i in (0..<8).reversed() { out.append(digits[Int(low >> UInt32(4 * i) & 15)]) }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// One monitored resource.
    struct Entry: Sendable, Equatable {
        var key: ResourceKey
        /// Upper bound of its views (or downloads) in the window.
        var count: Int64
        /// How much `count` may exceed the true count.
        var error: Int64
    }

    /// Resources reported (`CLOWDER_METRICS_TOP_RESOURCES`).
    let k: Int
    /// Counters kept: 32·K (at least 64).
    let capacity: Int
    private var heap: [Entry] = []
    /// `heapSlot[i]`: the table slot that points at `heap[i]`.
    private var heapSlot: [Int32] = []
    /// Open addressing (linear probing): 0 = empty, else a heap position + 1. At least twice
    /// ``capacity`` slots, a power of two.
    private var table: [Int32]
    private let mask: Int

    init(k: Int) {
        self.k = max(0, k)
        capacity = max(64, 32 * self.k)
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        table = Array(repeating: 0, count: size)
        mask = size - 1
    }

    var isEmpty: Bool { heap.isEmpty }

    /// Heap bytes held (approximate: the entries and the index).
    var byteCount: Int { heap.capacity * 32 + heapSlot.capacity * 4 + table.capacity * 4 }

    /// Counts one view (or download) of `key`, `times` times.
    mutating func add(_ key: ResourceKey, times: Int64 = 1) {
        let (slot, found) = find(key)
        if found {
            let i = Int(table[slot]) - 1
            heap[i].count &+= times
            siftDown(i)
        } else if heap.count < capacity {
            append(Entry(key: key, count: times, error: 0), slot: slot)
            siftUp(heap.count - 1)
        } else {
            let least = heap[0]
            removeFromTable(slot: Int(heapSlot[0]))
            let free = find(key).slot  // the deletion may have moved entries
            heap[0] = Entry(key: key, count: least.count &+ times, error: least.count)
            heapSlot[0] = Int32(free)
            table[free] = 1
            siftDown(0)
        }
    }

    @inline(__always)
    private static func hash(_ key: ResourceKey) -> Int {
        var x = key.high ^ ((UInt64(key.low) << 3 | UInt64(key.type.rawValue)) &* 0x9E37_79B9_7F4A_7C15)
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        return Int(truncatingIfNeeded: x)
    }

    /// The table slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: ResourceKey) -> (slot: Int, found: Bool) {
        var i = Self.hash(key) & mask
        while true {
            let t = table[i]
            if t == 0 { return (i, false) }
            if heap[Int(t) - 1].key == key { return (i, true) }
            i = (i + 1) & mask
        }
    }

    private mutating func append(_ e: Entry, slot: Int) {
        heap.append(e)
        heapSlot.append(Int32(slot))
        table[slot] = Int32(heap.count)
    }

    /// Empties `slot` and moves later entries of its probe run back (Knuth's algorithm R for
    /// linear probing), so that every key stays reachable from its home slot.
    private mutating func removeFromTable(slot: Int) {
        var i = slot
        var j = slot
        while true {
            j = (j + 1) & mask
            let t = table[j]
            if t == 0 { break }
            let home = Self.hash(heap[Int(t) - 1].key) & mask
            let stays = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !stays {
                table[i] = t
                heapSlot[Int(t) - 1] = Int32(i)
                i = j
            }
        }
        table[i] = 0
    }

    /// The ``k`` entries with the largest counts, largest first (ties: smaller error, then id).
    func top() -> [Entry] {
        heap.sorted {
            if $0.count != $1.count { return $0.count > $1.count }
            if $0.error != $1.error { return $0.error < $1.error }
            return ($0.key.high, $0.key.low, $0.key.type.rawValue) < ($1.key.high, $1.key.low, $1.key.type.rawValue)
        }.prefix(k).map { $0 }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].count < heap[parent].count else { return }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, heap[l].count < heap[m].count { m = l }
            if r < n, heap[r].count < heap[m].count { m = r }
            if m == i { return }
            swapAt(i, m)
            i = m
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heapSlot.swapAt(a, b)
        table[Int(heapSlot[a])] = Int32(a + 1)
        table[Int(heapSlot[b])] = Int32(b + 1)
    }

    // MARK: Snapshot

    /// Appends the entries in heap order: u32 count × (high i64, low u32, type u8, count i64, error i64).
    func encode(into w: inout SnapshotWriter) {
        w.u32(heap.count)
        for e in heap {
            w.i64(Int64(bitPattern: e.key.high))
            w.u32(Int(e.key.low))
            w.bytes.append(e.key.type.rawValue)
            w.i64(e.count)
            w.i64(e.error)
        }
    }

    /// Reads what ``encode(into:)`` wrote, into a sketch of `k`.
    /// - Throws: ``AggregationError`` `.snapshot` when truncated or out of range.
    static func decode(from r: inout SnapshotReader, k: Int) throws -> TopResources {
        var t = TopResources(k: k)
        var entries: [Entry] = []
        for _ in 0..<(try r.u32()) {
            let high = UInt64(bitPattern: try r.i64())
            let low = UInt32(truncatingIfNeeded: try r.u32())
            guard let type = ClowderClassification.ResourceType(rawValue: try r.u8()) else {
                throw AggregationError(.snapshot, "top resources: unknown resource type", key: "top")
            }
            let count = try r.i64(), error = try r.i64()
            guard count > 0, error >= 0, error < count else {
                throw AggregationError(.snapshot, "top resources: count \(count) with error \(error)", key: "top")
            }
            entries.append(Entry(key: ResourceKey(high: high, low: low, type: type), count: count, error: error))
        }
        // The heap is restored slot for slot, so later evictions among equal counts pick the same
        // resource as without the restart. A smaller K since the snapshot (a changed setting)
        // keeps the largest counts, re-heaped.
        var valid = Set<ResourceKey>()
        for (i, e) in entries.enumerated() {
            let parent = (i - 1) / 2
            guard valid.insert(e.key).inserted, i == 0 || entries[parent].count <= e.count else {
                throw AggregationError(.snapshot, "top resources: entry \(i) breaks the heap order", key: "top")
            }
        }
        if entries.count > t.capacity {
            entries.sort { $0.count > $1.count }
            entries.removeLast(entries.count - t.capacity)
            for e in entries {
                t.append(e, slot: t.find(e.key).slot)
                t.siftUp(t.heap.count - 1)
            }
        } else {
            for e in entries { t.append(e, slot: t.find(e.key).slot) }
        }
        return t
    }
}
