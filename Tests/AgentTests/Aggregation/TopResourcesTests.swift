import Foundation
import MetricsModel
import Parsers
import Testing

@testable import Agent

/// Per window, the top K resources by views and by downloads (Space-Saving sketch), one
/// `nginx_top_resources` point each (issue 12, item 2).
@Suite("Top resources")
struct TopResourcesTests {
    /// A deterministic generator (SplitMix64), so the log is the same at every run.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func id(_ prefix: String, _ n: Int) -> String {
        let hex = String(n, radix: 16)
        return prefix + String(repeating: "0", count: 24 - prefix.count - hex.count) + hex
    }

    @Test("on a log with well-separated counts and a long tail, the top 10 views and downloads are the exact top 10")
    func exactTopK() throws {
        // 10 popular files viewed 400, 365, …, 85 times; 10 popular datasets downloaded 300, 270, …, 30 times;
        // 3,000 files viewed once or twice and 2,000 datasets downloaded once; 2,000 other requests.
        var targets: [String] = []
        for i in 0..<10 { targets += Array(repeating: "/files/\(Self.id("aa", i))", count: 400 - 35 * i) }
        for i in 0..<10 { targets += Array(repeating: "/api/datasets/\(Self.id("bb", i))/download", count: 300 - 30 * i) }
        for i in 0..<3_000 { targets += Array(repeating: "/files/\(Self.id("cc", i))", count: 1 + i % 2) }
        for i in 0..<2_000 { targets.append("/api/datasets/\(Self.id("dd", i))/download") }
        for i in 0..<2_000 { targets.append("/about/\(i)") }
        var rng = SplitMix(state: 12)
        targets.shuffle(using: &rng)

        // The exact answer, counted independently of the sketch.
        var views: [String: Int64] = [:], downloads: [String: Int64] = [:]
        for t in targets {
            let parts = t.split(separator: "/")
            if parts.first == "files" { views[String(parts[1]), default: 0] += 1 }
            if parts.count == 4, parts[1] == "datasets" { downloads[String(parts[2]), default: 0] += 1 }
        }
        func exactTop(_ counts: [String: Int64]) -> [String] {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map(\.key)
        }

        let format = try LogFormat(string: #"$msec $remote_addr $remote_user "$request" $status $body_bytes_sent "$http_user_agent" $request_time $connection $host"#)
        let p = try AccessLogPipeline(configuration: .init(logFormat: format, topResources: 10))
        for (i, t) in targets.enumerated() {
            p.add("1764583200.\(100 + i % 900) 10.0.\(i / 250 % 250).\(i % 250) - \"GET \(t) HTTP/1.1\" 200 10 \"Mozilla/5.0\" 0.010 \(i) clowder.example.org")
        }
        let top = p.closeAll().points.filter { $0.measurement == "nginx_top_resources" }
        for (kind, type, truth) in [("view", "file", views), ("download", "dataset", downloads)] {
            let got = top.filter { $0.tags["kind"] == kind }.sorted { ($0.int("rank") ?? 0) < ($1.int("rank") ?? 0) }
            #expect(got.map { $0.tags["resource_id"] ?? "" } == exactTop(truth), "\(kind)")
            #expect(got.map { $0.int("rank") ?? 0 } == Array(1...10))
            for point in got {
                let id = point.tags["resource_id"] ?? ""
                let count = point.int("count") ?? 0, error = point.int("count_error") ?? -1
                let exact = truth[id] ?? 0
                // Space-Saving: count is an upper bound and count − error a lower bound; error 0 means exact.
                #expect(count - error <= exact && exact <= count, "\(kind) \(id): \(count) − \(error) vs \(exact)")
                if error == 0 { #expect(count == exact) }
                #expect(point.tags["type"] == type && point.tags["agent"] == nil)
                #expect(point.timeNanoseconds == 1_764_583_200_000_000_000 / 60_000_000_000 * 60_000_000_000)
            }
        }
        print("top resources: views " + top.filter { $0.tags["kind"] == "view" }.map { "\($0.int("count") ?? 0)±\($0.int("count_error") ?? 0)" }.joined(separator: " "))
    }

    @Test("the sketch stays at 32·K counters however many resources are requested; the snapshot keeps it")
    func bounded() throws {
        var t = TopResources(k: 5)
        for i in 0..<100_000 {
            let hex = Array(Self.id("ee", i % 50_000).utf8)
            hex.withUnsafeBytes { t.add(TopResources.ResourceKey(hex: $0, type: .file)!) }
        }
        #expect(t.capacity == 160)
        #expect(t.byteCount <= 32 << 10)
        var w = SnapshotWriter()
        t.encode(into: &w)
        var r = SnapshotReader(bytes: w.bytes)
        let back = try TopResources.decode(from: &r, k: 5)
        #expect(back.top() == t.top())
        #expect(Array("0123456789abcdefABCDEF01".utf8).withUnsafeBytes { TopResources.ResourceKey(hex: $0, type: .file)?.hex }
                == "0123456789abcdefabcdef01")
        #expect(Array("not-hex-0123456789abcdef".utf8).withUnsafeBytes { TopResources.ResourceKey(hex: $0, type: .file) } == nil)
    }

    /// Space-Saving with a `Dictionary` for the index: the straightforward form of the algorithm,
    /// to check the sketch's own open-addressing index (and its deletions) against.
    struct ReferenceSketch {
        let capacity: Int
        var heap: [TopResources.Entry] = []
        var index: [TopResources.ResourceKey: Int] = [:]

        mutating func add(_ key: TopResources.ResourceKey) {
            if let i = index[key] {
                heap[i].count += 1
                siftDown(i)
            } else if heap.count < capacity {
                heap.append(.init(key: key, count: 1, error: 0))
                index[key] = heap.count - 1
                siftUp(heap.count - 1)
            } else {
                let least = heap[0]
                index[least.key] = nil
                heap[0] = .init(key: key, count: least.count + 1, error: least.count)
                index[key] = 0
                siftDown(0)
            }
        }

        mutating func siftUp(_ start: Int) {
            var i = start
            while i > 0, heap[i].count < heap[(i - 1) / 2].count { swap(i, (i - 1) / 2); i = (i - 1) / 2 }
        }

        mutating func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, heap[l].count < heap[m].count { m = l }
                if r < heap.count, heap[r].count < heap[m].count { m = r }
                if m == i { return }
                swap(i, m)
                i = m
            }
        }

        mutating func swap(_ a: Int, _ b: Int) {
            heap.swapAt(a, b)
            index[heap[a].key] = a
            index[heap[b].key] = b
        }
    }

    @Test("the sketch's own index gives the same counts as a Dictionary index under heavy eviction")
    func indexMatchesReference() throws {
        for (k, distinct) in [(2, 70), (5, 400), (10, 5_000)] {
            var t = TopResources(k: k)
            var ref = ReferenceSketch(capacity: t.capacity)
            var rng = SplitMix(state: UInt64(distinct))
            for step in 0..<60_000 {
                // A skewed stream: half the adds from a few hot ids, the rest spread over `distinct` ids.
                let n = step % 2 == 0 ? Int(rng.next() % 8) : Int(rng.next() % UInt64(distinct))
                let type: ClowderClassification.ResourceType = n % 3 == 0 ? .dataset : .file
                let key = try #require(Array(Self.id("f", n).utf8).withUnsafeBytes {
                    TopResources.ResourceKey(hex: $0, type: type)
                })
                t.add(key)
                ref.add(key)
            }
            let reference = ref.heap.sorted {
                if $0.count != $1.count { return $0.count > $1.count }
                if $0.error != $1.error { return $0.error < $1.error }
                return ($0.key.high, $0.key.low, $0.key.type.rawValue) < ($1.key.high, $1.key.low, $1.key.type.rawValue)
            }
            #expect(t.top() == Array(reference.prefix(k)), "k \(k), \(distinct) ids")
            // Every monitored key is still found: one more add of each raises exactly its own count.
            for e in reference.prefix(k) {
                var copy = t
                copy.add(e.key)
                #expect(copy.top().first { $0.key == e.key }?.count == e.count + 1)
            }
        }
    }
}
