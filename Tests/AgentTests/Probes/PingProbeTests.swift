import Agent
import Foundation
import MetricsModel
import TestSupport
import Testing

/// `PingProbe` on loopback (raw ICMP sockets: the tests run as root).
@Suite("PingProbe", .ownThreads)
struct PingProbeTests {
    @Test("IPv4 loopback: every echo answered, Telegraf's fields")
    func ipv4() throws {
        let r = PingProbe(target: "127.0.0.1", options: PingOptions(count: 4, interval: 0.02, timeout: 1)).run()
        #expect(r.outcome == .success, "\(r.message ?? "")")
        #expect(r.transmitted == 4)
        #expect(r.received == 4)
        #expect(r.percentPacketLoss == 0)
        let mn = try #require(r.minimumResponseMilliseconds), av = try #require(r.averageResponseMilliseconds)
        let mx = try #require(r.maximumResponseMilliseconds)
        #expect(mn > 0 && mn <= av && av <= mx)
        let p = r.point(identity: AgentIdentity(id: "a1", host: "h1", region: "us", version: "0"), timeNanoseconds: 9)
        #expect(p.measurement == "ping")
        #expect(p.tags == ["url": "127.0.0.1", "result": "success", "agent": "a1", "host": "h1", "region": "us"])
        #expect(Set(p.fields.keys) == ["packets_transmitted", "packets_received", "percent_packet_loss",
                                       "minimum_response_ms", "average_response_ms", "maximum_response_ms",
                                       "standard_deviation_ms", "result_code"])
        #expect(p.fields["packets_transmitted"] == .int(4))
        #expect(p.fields["packets_received"] == .int(4))
        #expect(p.fields["percent_packet_loss"] == .double(0))
        #expect(p.fields["result_code"] == .int(0))
    }

    @Test("IPv6 loopback over ICMPv6")
    func ipv6() throws {
        let r = PingProbe(target: "::1", options: PingOptions(count: 3, interval: 0.02, timeout: 1)).run()
        #expect(r.outcome == .success, "\(r.message ?? "")")
        #expect(r.address == "::1")
        #expect(r.received == 3)
    }

    @Test("an unresolvable name gives result_code 1 (no such host) and no loss fields")
    func noSuchHost() {
        let r = PingProbe(target: "no-such-host-\(UInt32.random(in: 0...UInt32.max)).invalid").run()
        #expect(r.outcome == .noSuchHost)
        let p = r.point(identity: AgentIdentity(id: "a", host: "h", region: "r", version: "0"), timeNanoseconds: 0)
        #expect(p.fields == ["result_code": .int(1)])
        #expect(p.tags["result"] == "no_such_host")
    }

    @Test("concurrent probes of one target each count only their own replies")
    func identifiersKeepRepliesApart() async {
        let results = await withTaskGroup(of: PingResult.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await withCheckedContinuation { c in
                        Thread.detachNewThread {
                            c.resume(returning: PingProbe(target: "127.0.0.1",
                                                          options: PingOptions(count: 20, interval: 0.005, timeout: 1)).run())
                        }
                    }
                }
            }
            var all: [PingResult] = []
            for await r in group { all.append(r) }
            return all
        }
        for r in results {
            #expect(r.transmitted == 20)
            #expect(r.received == 20)  // never more: another probe's replies are not claimed
        }
    }

    @Test("statistics are worked from the round trips (population standard deviation)")
    func statistics() {
        let r = PingResult(target: "x", outcome: .success, transmitted: 4, roundTripTimes: [0.010, 0.020, 0.030])
        #expect(r.percentPacketLoss == 25)
        #expect(r.minimumResponseMilliseconds == 10)
        #expect(abs(r.averageResponseMilliseconds! - 20) < 1e-9)
        #expect(r.maximumResponseMilliseconds == 30)
        // sqrt(((10-20)² + 0 + (30-20)²) / 3) = sqrt(200/3)
        #expect(abs(r.standardDeviationMilliseconds! - (200.0 / 3).squareRoot()) < 1e-9)
    }

    @Test("a permission failure is result_code 3 and a result tag, never loss")
    func permissionPoint() {
        let r = PingResult(target: "x", outcome: .permission, message: "m")
        let p = r.point(identity: AgentIdentity(id: "a", host: "h", region: "r", version: "0"), timeNanoseconds: 0)
        #expect(p.fields == ["result_code": .int(3)])
        #expect(p.tags["result"] == "permission")
        #expect(r.isUp == false)
    }
}
