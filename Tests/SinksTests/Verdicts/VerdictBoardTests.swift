import MetricsModel
import Testing

@testable import Sinks

@Suite("VerdictBoard")
struct VerdictBoardTests {
    static let t0: Int64 = 1_700_000_000_000

    static func round(_ region: String, _ outcome: RegionRound.Outcome, at ms: Int64, target: String = "clowder") -> RegionRound {
        RegionRound(target: target, region: region, outcome: outcome, createdMilliseconds: ms, responseTime: outcome == .up ? 0.1 : nil)
    }

    /// (regions' outcomes, quorum, expected verdict): worked out by hand from the issue's rule
    /// "down when at least 2 regions, or all reporting regions, see it down".
    static let cases: [([RegionRound.Outcome], Int, ServiceVerdict.Verdict)] = [
        ([.up, .up, .up], 2, .up),
        ([.down, .up, .up], 2, .degraded),
        ([.down, .down, .up], 2, .down),
        ([.down], 2, .down),                                  // the only reporting region sees it down
        ([.down, .agentNetworkDown], 2, .down),               // network-down regions do not report
        ([.up, .agentNetworkDown], 2, .up),
        ([.agentNetworkDown, .agentNetworkDown], 2, .unknown),
        ([.down, .down, .up, .up, .up], 3, .degraded),
        ([.down, .down, .down, .up, .up], 3, .down),
    ]

    @Test("quorum rule", arguments: cases)
    func quorum(_ outcomes: [RegionRound.Outcome], _ quorum: Int, _ expected: ServiceVerdict.Verdict) {
        var board = VerdictBoard(policy: VerdictPolicy(quorum: quorum, silentAfter: 120))
        for (i, o) in outcomes.enumerated() { board.record(Self.round("r\(i)", o, at: Self.t0)) }
        let v = board.verdicts(periodStart: Self.t0, periodEnd: Self.t0 + 60_000)
        #expect(v.count == 1)
        #expect(v.first?.verdict == expected)
        #expect(v.first?.point.fields["regions_down"] == .int(Int64(outcomes.filter { $0 == .down }.count)))
        #expect(v.first?.point.fields["regions_network_down"] == .int(Int64(outcomes.filter { $0 == .agentNetworkDown }.count)))
    }

    @Test("a region without a round for more than SILENT_AFTER is agent_silent and never counts as up")
    func silence() {
        var board = VerdictBoard(policy: VerdictPolicy(quorum: 2, silentAfter: 120))
        board.record(Self.round("eu", .up, at: Self.t0))
        board.record(Self.round("us", .up, at: Self.t0 + 100_000))
        // Period ending 120 s after eu's round: not silent yet (exactly SILENT_AFTER).
        var v = board.verdicts(periodStart: Self.t0 + 60_000, periodEnd: Self.t0 + 120_000)
        #expect(v[0].regions == ["eu": .up, "us": .up])
        v = board.verdicts(periodStart: Self.t0 + 120_000, periodEnd: Self.t0 + 180_000)
        #expect(v[0].regions == ["eu": .agentSilent, "us": .up])
        #expect(v[0].verdict == .up)
        #expect(v[0].point.fields["silent_regions"] == "eu" && v[0].point.fields["regions_unknown"] == .int(1))
        // Both silent: unknown, not up.
        v = board.verdicts(periodStart: Self.t0 + 300_000, periodEnd: Self.t0 + 360_000)
        #expect(v[0].verdict == .unknown && v[0].point.fields["up"] == .int(0))
    }

    @Test("an older round never replaces a newer one; forgotten after FORGET_AFTER; bounded pairs")
    func ordering() {
        var board = VerdictBoard(policy: VerdictPolicy(quorum: 2, silentAfter: 10, forgetAfter: 100), maxPairs: 2)
        do { let ok = board.record(Self.round("eu", .down, at: Self.t0 + 5_000)); #expect(ok) }
        do { let ok = board.record(Self.round("eu", .up, at: Self.t0)); #expect(!ok) }  // late, older
        #expect(board.latest["clowder"]?["eu"]?.outcome == .down)
        do { let ok = board.record(Self.round("us", .up, at: Self.t0)); #expect(ok) }
        do { let ok = board.record(Self.round("ap", .up, at: Self.t0)); #expect(!ok) }  // a third pair: refused
        #expect(board.refusedPairs == 1)
        #expect(board.verdicts(periodStart: Self.t0 + 200_000, periodEnd: Self.t0 + 201_000).isEmpty)  // both forgotten
        do { let ok = board.record(Self.round("ap", .up, at: Self.t0 + 200_000)); #expect(ok) }  // room again
    }

    @Test("the point and message id are the same for the same period on every replica")
    func pointShape() {
        var one = VerdictBoard(policy: VerdictPolicy()), two = VerdictBoard(policy: VerdictPolicy())
        let rounds = [Self.round("eu", .down, at: Self.t0 + 1_000), Self.round("us", .down, at: Self.t0 + 2_000),
                      Self.round("ap", .up, at: Self.t0 + 3_000)]
        for r in rounds { one.record(r) }
        for r in rounds.reversed() { two.record(r) }
        let a = one.verdicts(periodStart: Self.t0, periodEnd: Self.t0 + 60_000)[0]
        let b = two.verdicts(periodStart: Self.t0, periodEnd: Self.t0 + 60_000)[0]
        #expect(a.point == b.point && a.messageID == b.messageID)
        #expect(a.messageID == "service_verdict:\(Self.t0):clowder")
        let p = a.point
        #expect(p.measurement == "service_verdict" && p.timeNanoseconds == Self.t0 * 1_000_000)
        #expect(p.tags == ["service_name": "clowder", "verdict": "down"])
        #expect(p.fields["down_regions"] == "eu,us" && p.fields["up_regions"] == "ap")
        #expect(p.fields["regions_up"] == .int(1) && p.fields["regions_down"] == .int(2) && p.fields["down"] == .int(1))
    }

    @Test("RegionRound reads the agent's service_status event, and nothing else")
    func parse() throws {
        let e = ClowderEvent([
            "category": "service_status", "type": "agent_network_down", "service_name": "https://c.example.org/healthz",
            "region": "eu-west", "agent": "probe-1", "created": .int(Self.t0), "source": "clowder-agent",
        ])
        let r = try #require(RegionRound(event: e))
        #expect(r == RegionRound(target: "https://c.example.org/healthz", region: "eu-west", agent: "probe-1",
                                 outcome: .agentNetworkDown, createdMilliseconds: Self.t0))
        #expect(RegionRound(event: ClowderEvent(["category": "view_resource", "created": .int(1)])) == nil)
        #expect(RegionRound(event: ClowderEvent(["category": "service_status", "type": "up", "service_name": "x", "created": .int(1)])) == nil)
    }

    @Test("rollups: hourly nearest-rank percentiles per region, daily uptime, only for buckets seen whole")
    func rollups() throws {
        var r = Rollups()
        let hour: Int64 = 3_600_000, day: Int64 = 86_400_000
        let d0 = Self.t0 / day * day + day          // a UTC day start after t0
        // 100 up rounds of 1…100 ms in the day's first hour, one down, one agent_network_down (counts neither way).
        for i in 1...100 {
            r.record(RegionRound(target: "c", region: "eu", outcome: .up, createdMilliseconds: d0 + Int64(i) * 1000,
                                 responseTime: Double(i) / 1000))
        }
        r.record(RegionRound(target: "c", region: "eu", outcome: .down, createdMilliseconds: d0 + 200_000))
        r.record(RegionRound(target: "c", region: "eu", outcome: .agentNetworkDown, createdMilliseconds: d0 + 300_000))
        // Verdicts of the day: 3 up, 1 degraded, 1 down, 1 unknown (ignored).
        for (i, v) in [ServiceVerdict.Verdict.up, .up, .up, .degraded, .down, .unknown].enumerated() {
            r.record(ServiceVerdict(target: "c", periodStartMilliseconds: d0 + Int64(i) * 60_000, regions: [:], quorum: 2, verdict: v))
        }
        #expect(r.close(endedBy: d0 + hour - 1, since: d0).isEmpty)   // the hour has not ended
        let hourly = r.close(endedBy: d0 + hour, since: d0)
        #expect(hourly.count == 1)
        let p = try #require(hourly.first?.point)
        // Nearest rank over 1…100 ms: the 50th, 95th and 99th smallest.
        #expect(p.measurement == "service_latency" && p.tags == ["service_name": "c", "region": "eu"])
        #expect(p.fields["p50"] == .double(0.05) && p.fields["p95"] == .double(0.095) && p.fields["p99"] == .double(0.099))
        #expect(p.fields["rounds"] == .int(100) && hourly.first?.messageID == "service_latency:\(d0):c:eu")
        let daily = r.close(endedBy: d0 + day, since: d0)
        let byID = Dictionary(uniqueKeysWithValues: daily.map { ($0.messageID, $0.point) })
        let target = try #require(byID["service_uptime:\(d0):c"])
        #expect(target.fields["up"] == .int(4) && target.fields["down"] == .int(1) && target.fields["uptime"] == .double(80))
        let region = try #require(byID["service_uptime:\(d0):c:eu"])
        #expect(region.fields["up"] == .int(100) && region.fields["down"] == .int(1))
        #expect(region.fields["uptime"] == .double(100.0 / 101.0 * 100))
        // A replica that started after the bucket began publishes nothing for it.
        var late = Rollups()
        late.record(RegionRound(target: "c", region: "eu", outcome: .up, createdMilliseconds: d0 + 5_000, responseTime: 0.1))
        #expect(late.close(endedBy: d0 + day, since: d0 + 1).isEmpty)
    }
}
