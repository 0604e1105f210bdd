import Foundation
import MetricsModel
import TestSupport
import Testing

@testable import Agent

/// A full spool drops its oldest batches: counted on the `agent` point and said in the log,
/// at the first drop and then at most once a minute with the number dropped since (issue 12, item 5).
@Suite(.ownThreads) struct DropWarningTests {
    @Test("the rate limit: the first drop at once, then once a minute with the count held back")
    func rateLimit() {
        var w = DropWarning()
        #expect(w.note(dropped: 0, now: 0) == nil)
        #expect(w.note(dropped: 2, now: 1_000) == 2)
        #expect(w.note(dropped: 1, now: 2_000) == nil)
        #expect(w.note(dropped: 4, now: 60_999) == nil)
        #expect(w.note(dropped: 0, now: 61_000) == 5)
        #expect(w.note(dropped: 0, now: 200_000) == nil, "nothing new: silent")
        #expect(w.note(dropped: 1, now: 200_001) == 1, "more than a minute since the last warning: at once")
        #expect(w.total == 8)
    }

    @Test("Delivery on a full spool: one warning for a burst of drops, the next a minute later with the count")
    func deliveryWarns() throws {
        let dir = try makeTempDirectory("drops")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = try Samples.configuration(dir, ingestURL: "http://127.0.0.1:9", maxBytes: 64 << 10)
        config.batchMaxPoints = 1   // every point closes a batch
        config.batchMaxAge = 3600
        let log = CapturedLog()
        let d = try Delivery(configuration: config, agent: Samples.agent, logger: log.logger)  // forwarder not started
        let t0: Int64 = 1_764_600_000_000
        // 12 KB of incompressible text per batch: the 64 KiB spool holds about four.
        for i in 0..<20 { try d.submit(points: [Samples.point(i, padding: 12_000)], now: t0 + Int64(i) * 1_000) }
        let dropped = d.stats.batchesDropped.load(ordering: .relaxed)
        #expect(dropped >= 10, "the spool must have dropped most of the 20 batches")
        #expect(try d.spool.count() + Int(dropped) == 20, "every batch is either spooled or counted as dropped")
        let first = log.messages(.warning)
        #expect(first.count == 1, "\(first.map(\.message))")
        let firstCount = Int64(first.first?.metadata["batches_dropped"] ?? "") ?? -1
        #expect(firstCount >= 1)
        #expect(first.first?.message.contains("CLOWDER_METRICS_SPOOL_MAX_BYTES") == true)

        // Nothing dropped for a while: a tick a minute after the first warning (which came within
        // the first 20 s) reports what was held back.
        try d.tick(now: t0 + 30_000)
        #expect(log.messages(.warning).count == 1)
        try d.tick(now: t0 + 81_000)
        let all = log.messages(.warning)
        #expect(all.count == 2)
        #expect(Int64(all.last?.metadata["batches_dropped"] ?? "") == dropped - firstCount)
        #expect(all.last?.metadata["batches_dropped_total"] == "\(dropped)")
        try d.tick(now: t0 + 200_000)
        #expect(log.messages(.warning).count == 2, "no new drops: no new warning")

        // The counter on the agent point is unchanged by the logging.
        let point = d.stats.point(agent: Samples.agent, timeNanoseconds: 0)
        #expect(point.fields["batches_dropped"]?.intValue == dropped)
    }
}
