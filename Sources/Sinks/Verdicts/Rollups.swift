import MetricsModel

/// Hourly response-time percentiles per target and region, and daily uptime per
/// target (from the verdicts) and per region (from the rounds): points Grafana
/// reads without heavy queries (issue 13, item 5). Kept by ``VerdictService``
/// beside the ``VerdictBoard``, from the same rounds.
///
/// - `service_latency` (tags `service_name`, `region`; time = the UTC hour's start):
///   `p50`, `p95`, `p99` (seconds, nearest rank: the ⌈q·n⌉-th smallest
///   `response_time_avg` of the hour's `up` rounds), `rounds` (int).
/// - `service_uptime` (tags `service_name`, and `region` for a region's own
///   rounds; time = the UTC day's start): `uptime` (percent), `up` and `down`
///   (ints: verdict periods `up`/`degraded` vs `down` for the target; `up` vs
///   `down` rounds for a region — `agent_network_down` rounds count neither way).
///
/// A bucket is published once it has ended (after the service's delay), and only
/// when this replica has been running since before the bucket began, so every
/// replica that publishes it publishes the same figures, with the same
/// `message_id` (`service_latency:<hour ms>:<target>:<region>`,
/// `service_uptime:<day ms>:<target>[:<region>]`).
///
/// Bounded: at most 10 000 samples per hour and (target, region) (later ones
/// are not kept), and at most ``maxBuckets`` open buckets.
public struct Rollups: Sendable {
    static let hour: Int64 = 3_600_000, day: Int64 = 86_400_000
    /// Most open buckets kept (hours × pairs + days × pairs).
    public let maxBuckets: Int
    struct Key: Hashable, Sendable { var target: String; var region: String; var start: Int64 }
    private(set) var latency: [Key: [Double]] = [:]
    private(set) var uptime: [Key: (up: Int, down: Int)] = [:]

    /// - Parameter maxBuckets: most open buckets (default 100 000).
    public init(maxBuckets: Int = 100_000) { self.maxBuckets = maxBuckets }

    /// Counts one round: its response time for its hour, its outcome for its region's day.
    public mutating func record(_ r: RegionRound) {
        let h = Key(target: r.target, region: r.region, start: r.createdMilliseconds / Self.hour * Self.hour)
        let d = Key(target: r.target, region: r.region, start: r.createdMilliseconds / Self.day * Self.day)
        if r.outcome == .up, let rt = r.responseTime, rt.isFinite {
            if latency[h] != nil || latency.count + uptime.count < maxBuckets {
                if latency[h, default: []].count < 10_000 { latency[h, default: []].append(rt) }
            }
        }
        guard r.outcome != .agentNetworkDown else { return }
        if uptime[d] != nil || latency.count + uptime.count < maxBuckets {
            var c = uptime[d] ?? (0, 0)
            if r.outcome == .up { c.up += 1 } else { c.down += 1 }
            uptime[d] = c
        }
    }

    /// Counts one verdict for its target's day (region empty).
    public mutating func record(_ v: ServiceVerdict) {
        guard v.verdict != .unknown else { return }
        let d = Key(target: v.target, region: "", start: v.periodStartMilliseconds / Self.day * Self.day)
        guard uptime[d] != nil || latency.count + uptime.count < maxBuckets else { return }
        var c = uptime[d] ?? (0, 0)
        if v.verdict == .down { c.down += 1 } else { c.up += 1 }
        uptime[d] = c
    }

    /// Nearest-rank quantile of sorted values: the ⌈q·n⌉-th smallest.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    /// Removes and returns the points of every bucket that ended at or before `end`
    /// (epoch ms); buckets that began before `since` are dropped unpublished.
    public mutating func close(endedBy end: Int64, since: Int64) -> [(point: Point, messageID: String)] {
        var out: [(point: Point, messageID: String)] = []
        for (k, values) in latency where k.start + Self.hour <= end {
            latency[k] = nil
            guard k.start >= since, !values.isEmpty else { continue }
            let s = values.sorted()
            out.append((Point(measurement: "service_latency", tags: ["service_name": k.target, "region": k.region],
                              fields: ["p50": .double(Self.quantile(s, 0.50)), "p95": .double(Self.quantile(s, 0.95)),
                                       "p99": .double(Self.quantile(s, 0.99)), "rounds": .int(Int64(s.count))],
                              timeNanoseconds: k.start * 1_000_000),
                        "service_latency:\(k.start):\(k.target):\(k.region)"))
        }
        for (k, c) in uptime where k.start + Self.day <= end {
            uptime[k] = nil
            guard k.start >= since, c.up + c.down > 0 else { continue }
            var tags = ["service_name": k.target]
            if !k.region.isEmpty { tags["region"] = k.region }
            out.append((Point(measurement: "service_uptime", tags: tags,
                              fields: ["uptime": .double(Double(c.up) / Double(c.up + c.down) * 100),
                                       "up": .int(Int64(c.up)), "down": .int(Int64(c.down))],
                              timeNanoseconds: k.start * 1_000_000),
                        "service_uptime:\(k.start):\(k.target)" + (k.region.isEmpty ? "" : ":\(k.region)")))
        }
        return out.sorted { $0.messageID < $1.messageID }
    }
}
