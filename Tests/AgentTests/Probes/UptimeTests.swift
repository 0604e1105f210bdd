import Agent
import MetricsModel
import Testing

/// `UptimeWindow` and the `service_status` event.
@Suite("Uptime")
struct UptimeTests {
    @Test("ratio over the window forgets rounds older than the window")
    func window() {
        var w = UptimeWindow(window: 10)
        #expect(w.ratio == 1)
        let s: Int64 = 1_000_000_000
        w.record(up: true, atMonotonicNanoseconds: 0)
        w.record(up: false, atMonotonicNanoseconds: 5 * s)
        #expect(w.count == 2)
        #expect(w.ratio == 0.5)
        w.record(up: true, atMonotonicNanoseconds: 10 * s)  // the round at 0 falls out (age 10 s)
        #expect(w.count == 2)
        #expect(w.ratio == 0.5)
        w.record(up: true, atMonotonicNanoseconds: 16 * s)  // the down round at 5 falls out
        #expect(w.ratio == 1)
    }

    @Test("service_status event has Clowder's members")
    func event() {
        let e = ServiceStatusEvent.make(serviceName: "clowder", url: "https://c/healthz", up: true,
                                        responseTimes: [0.1, 0.3], lossPercent: 0, uptimeRatio: 0.75,
                                        identity: AgentIdentity(id: "a", host: "h", region: "eu", version: "0"),
                                        createdMilliseconds: 1_732_900_000_123)
        #expect(e.category == "service_status")
        #expect(e.type == "up")
        #expect(e.created == 1_732_900_000_123)
        #expect(e.members["healthy"] == .bool(true))
        #expect(e.members["service_name"] == "clowder")
        #expect(e.members["response_time_min"] == .double(0.1))
        #expect(e.members["response_time_max"] == .double(0.3))
        #expect(e.members["response_time_avg"] == .double(0.2))
        #expect(e.members["response_time_loss"] == .double(0))
        #expect(e.members["uptime"] == .double(75))
        #expect(e.members["region"] == "eu")
        let down = ServiceStatusEvent.make(serviceName: "c", url: "u", up: false, responseTimes: [], lossPercent: 100,
                                           uptimeRatio: 0, identity: AgentIdentity(id: "a", host: "h", region: "eu", version: "0"),
                                           createdMilliseconds: 1)
        #expect(down.type == "down")
        #expect(down.members["healthy"] == .bool(false))
        #expect(down.members["response_time_avg"] == nil)
    }
}
