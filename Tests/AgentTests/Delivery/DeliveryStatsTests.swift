import MetricsModel
import Testing

@testable import Agent

@Suite struct DeliveryStatsTests {
    @Test func agentPointCarriesEveryCounter() {
        let stats = DeliveryStats()
        stats.count(stats.linesRead, 120)
        stats.count(stats.malformedLines, 2)
        stats.count(stats.batchesSpooled, 3)
        stats.count(stats.batchesSent)
        stats.count(stats.batchesRetried, 4)
        stats.count(stats.batchesDeadLettered)
        stats.count(stats.batchesDropped, 5)
        stats.spoolBytes.store(4096, ordering: .relaxed)
        stats.spoolBatches.store(2, ordering: .relaxed)
        let p = stats.point(agent: Samples.agent, timeNanoseconds: 1_732_900_060_000_000_000)
        #expect(p.measurement == "agent")
        #expect(p.timeNanoseconds == 1_732_900_060_000_000_000)
        #expect(p.tags == ["agent": "test-agent", "host": "test-host", "region": "test-region", "version": "0.1.0"])
        #expect(p.fields == [
            "lines_read": 120, "malformed_lines": 2, "batches_spooled": 3, "batches_sent": 1, "batches_retried": 4,
            "batches_dead_lettered": 1, "batches_dropped": 5, "spool_bytes": 4096, "spool_batches": 2,
        ])
    }
}
