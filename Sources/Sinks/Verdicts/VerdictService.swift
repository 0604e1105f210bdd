import Broker
import Logging
import MetricsModel
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The cross-region verdict consumer: keeps the latest round per target and
/// region from the `service_status` events on the exchange, and publishes a
/// `service_verdict` point (``ServiceVerdict``) per target and period back to
/// the same exchange, in the flat JSON of ``MetricsMessage``, where every sink
/// writes it like any other point; and hourly latency percentiles and daily
/// uptime (``Rollups``: `service_latency`, `service_uptime`).
///
/// Timing: the period `[k·P, (k+1)·P)` (epoch-aligned, P = ``VerdictSettings/period``)
/// is judged at `(k+1)·P + delay` wall-clock time, from the rounds' own
/// `created` times (see ``VerdictBoard/verdicts(periodStart:periodEnd:)``).
///
/// Several replicas: each runs with **its own queue** (the default queue name
/// ends with the host name), so each sees every round; given the same rounds
/// they give the same verdict for the same period, and publish it with the same
/// `message_id` (``ServiceVerdict/messageID``) and the same point time, so
/// InfluxDB (same series and time: one point) and the SQL sinks (unique
/// `message_id`) keep one copy. A replica that has just started knows only the
/// rounds since it started (or since its durable queue was declared): it
/// publishes nothing for ``VerdictSettings/warmup`` seconds (default
/// `SILENT_AFTER`), after which its board holds every region still reporting.
/// Never point two replicas at one queue: they would split the rounds and each
/// see regions as silent.
///
/// Rounds are acknowledged once on the board (the board lives in memory: after
/// a crash the next rounds rebuild it within one probe interval, and the
/// warm-up covers the gap). Its own `service_verdict` messages come back on its
/// queue and are ignored, as is everything that is not a `service_status` event.
///
/// ```swift
/// let service = try VerdictService(settings: VerdictSettings(), logger: logger)
/// try await ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
public final class VerdictService: Service, Sendable {
    /// Counters since start.
    public struct Stats: Sendable, Hashable {
        /// `service_status` rounds recorded on the board.
        public var rounds = 0
        /// Messages that were not rounds (other events, points, verdicts, malformed JSON).
        public var ignored = 0
        /// Points (verdicts and rollups) confirmed by the broker.
        public var published = 0
        /// Periods judged.
        public var periods = 0
    }

    /// The settings.
    public let settings: VerdictSettings
    let logger: Logger
    let consumer: BrokerConsumer
    let publisher: BrokerPublisher
    let board: Mutex<VerdictBoard>
    let rollups = Mutex(Rollups())
    let counters = Mutex(Stats())
    private let pending = Mutex<[(point: Point, messageID: String)]>([])

    /// - Throws: ``SinkError`` (config) when the broker URL is malformed.
    public init(settings: VerdictSettings, logger: Logger = Logger(label: "clowder.sink.verdicts")) throws {
        self.settings = settings
        self.logger = logger
        let urls: [BrokerURL]
        do { urls = try BrokerURL.list(settings.amqpURL) } catch {
            throw SinkError.config(key: "CLOWDER_SINK_AMQP_URL", value: BrokerURL.redacted(settings.amqpURL), expected: "\(error)")
        }
        let exchange = ExchangeDeclaration(name: settings.exchange)
        // Bounded: a replica gone for good leaves a queue that keeps at most 100 000 rounds, none older than FORGET_AFTER.
        let queue = QueueDeclaration(
            name: settings.queue, durable: true,
            messageTTLMilliseconds: Int64(settings.policy.forgetAfter * 1000), maxLength: 100_000)
        consumer = BrokerConsumer(urls: urls, exchange: exchange, queue: queue, prefetch: 500, logger: logger)
        publisher = BrokerPublisher(urls: urls, exchange: exchange, logger: logger)
        board = Mutex(VerdictBoard(policy: settings.policy))
    }

    /// Counters since start.
    public var stats: Stats { counters.withLock { $0 } }

    /// Consumes and judges until cancelled or a graceful shutdown.
    public func run() async throws {
        consumer.start()
        publisher.start()
        let started = Self.wallMilliseconds()
        logger.info("verdicts started", metadata: [
            "queue": "\(settings.queue)", "exchange": "\(settings.exchange)", "quorum": "\(settings.policy.quorum)",
            "period_s": "\(settings.period)", "silent_after_s": "\(settings.policy.silentAfter)"])
        let consuming = Task { await self.consume() }
        let judging = Task { await self.judgeLoop(startedMilliseconds: started) }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await judging.value
            } onCancel: {
                judging.cancel()
            }
        } onGracefulShutdown: {
            judging.cancel()
        }
        await consumer.shutdown()
        await consuming.value
        await publisher.shutdown()
        logger.info("verdicts stopped", metadata: ["rounds": "\(stats.rounds)", "published": "\(stats.published)"])
    }

    private func consume() async {
        for await d in consumer.deliveries {
            if let decoded = try? MetricsMessage.decode(d.body), case .event(let e) = decoded, let round = RegionRound(event: e) {
                board.withLock { _ = $0.record(round) }
                rollups.withLock { $0.record(round) }
                counters.withLock { $0.rounds += 1 }
            } else {
                counters.withLock { $0.ignored += 1 }
            }
            consumer.ack(d)
        }
    }

    private func judgeLoop(startedMilliseconds: Int64) async {
        let periodMs = max(1, Int64(settings.period * 1000))
        let delayMs = Int64(settings.delay * 1000)
        let warmupMs = Int64(settings.warmup * 1000)
        var periodEnd = (Self.wallMilliseconds() - delayMs) / periodMs * periodMs + periodMs
        while !Task.isCancelled {
            let due = periodEnd + delayMs
            let wait = due - Self.wallMilliseconds()
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(wait)) } catch { return }
            }
            var judged = board.withLock { $0.verdicts(periodStart: periodEnd - periodMs, periodEnd: periodEnd) }
            counters.withLock { $0.periods += 1 }
            if periodEnd < startedMilliseconds + warmupMs { judged = [] }  // warming up: the board may lack regions
            let closed = rollups.withLock { r in
                for v in judged { r.record(v) }
                return r.close(endedBy: periodEnd, since: startedMilliseconds)
            }
            for v in judged where v.verdict != .up {
                logger.notice("verdict \(v.verdict.rawValue)", metadata: [
                    "service_name": "\(v.target)", "down": "\(v.regions(.down))", "silent": "\(v.regions(.agentSilent))",
                    "network_down": "\(v.regions(.agentNetworkDown))"])
            }
            await publish(judged.map { (point: $0.point, messageID: $0.messageID) } + closed)
            periodEnd += periodMs
            let now = Self.wallMilliseconds()
            if periodEnd + delayMs < now - periodMs {  // fell behind (suspended): judge the current period next
                periodEnd = (now - delayMs) / periodMs * periodMs + periodMs
            }
        }
    }

    /// Publishes `points` (with their message ids) and any left from a failed attempt
    /// (at most 10 000 kept; the oldest go first).
    private func publish(_ points: [(point: Point, messageID: String)]) async {
        let batch = pending.withLock { p -> [(point: Point, messageID: String)] in
            p.append(contentsOf: points)
            if p.count > 10_000 { p.removeFirst(p.count - 10_000) }
            defer { p.removeAll() }
            return p
        }
        if batch.isEmpty { return }
        let messages = batch.map { v in
            OutgoingMessage(
                body: MetricsMessage.json(for: v.point, agentID: "clowder-verdicts").jsonBytes,
                messageID: v.messageID, timestamp: v.point.timeNanoseconds / 1_000_000_000, type: "metric")
        }
        do {
            try await publisher.publish(messages)
            counters.withLock { $0.published += batch.count }
        } catch {
            logger.warning("cannot publish verdicts, retrying next period", metadata: ["error": "\(error)", "count": "\(batch.count)"])
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
        }
    }

    /// `CLOCK_REALTIME`, epoch milliseconds.
    static func wallMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
