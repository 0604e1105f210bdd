import Agent
import Testing

/// `HTTPPhases` from libcurl's cumulative microsecond times (values worked by hand).
@Suite("HTTPPhases")
struct HTTPPhasesTests {
    @Test("plain HTTP: differences of neighbours, tls 0")
    func plain() {
        let p = HTTPPhases(microsecondsNameLookup: 100, connect: 40_100, appConnect: 0,
                           startTransfer: 80_500, total: 81_000, usesTLS: false)
        #expect(p.dns == 0.0001)
        #expect(p.connect == 0.04)
        #expect(p.tls == 0)
        #expect(p.firstByte == 0.0404)
        #expect(p.transfer == 0.0005)
        #expect(p.total == 0.081)
    }

    @Test("https: tls = APPCONNECT − CONNECT, ttfb from APPCONNECT")
    func tls() {
        let p = HTTPPhases(microsecondsNameLookup: 1_000, connect: 3_000, appConnect: 10_000,
                           startTransfer: 15_000, total: 16_000, usesTLS: true)
        #expect(p.dns == 0.001)
        #expect(p.connect == 0.002)
        #expect(p.tls == 0.007)
        #expect(p.firstByte == 0.005)
        #expect(p.transfer == 0.001)
    }

    @Test("a connect that never completes: the waiting time is connect time")
    func connectTimeout() {
        let p = HTTPPhases(microsecondsNameLookup: 50, connect: 0, appConnect: 0,
                           startTransfer: 0, total: 2_000_050, usesTLS: false)
        #expect(p.dns == 0.00005)
        #expect(p.connect == 2.0)
        #expect(p.firstByte == 0)
        #expect(p.transfer == 0)
    }

    @Test("no answer after connecting: the waiting time is time to first byte")
    func readTimeout() {
        let p = HTTPPhases(microsecondsNameLookup: 10, connect: 60, appConnect: 0,
                           startTransfer: 0, total: 1_000_060, usesTLS: false)
        #expect(p.connect == 0.00005)
        #expect(p.firstByte == 1.0)
        #expect(p.transfer == 0)
    }
}
