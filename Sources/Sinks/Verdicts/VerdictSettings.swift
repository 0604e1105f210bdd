import Broker
import Configuration
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The settings of `clowder-sink verdicts`, the cross-region verdict consumer
/// (``VerdictService``), read from `CLOWDER_SINK_*` keys like the sinks'.
///
/// | Key | Default | Meaning |
/// |---|---|---|
/// | `CLOWDER_SINK_AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/` | RabbitMQ |
/// | `CLOWDER_SINK_EXCHANGE` | `clowder.metrics` | consumed, and where verdicts are published |
/// | `CLOWDER_SINK_VERDICT_QUEUE` | `<exchange>.verdicts.<host name>` | this replica's own queue: never shared between replicas |
/// | `CLOWDER_SINK_VERDICT_QUORUM` | `2` | regions that must see a target down for `down` |
/// | `CLOWDER_SINK_VERDICT_PERIOD` | `60` | seconds per verdict (one `service_verdict` per target and period) |
/// | `CLOWDER_SINK_VERDICT_DELAY` | `15` | seconds after a period's end before it is judged (rounds in flight: agent batching) |
/// | `CLOWDER_SINK_VERDICT_SILENT_AFTER` | `120` | seconds without a round before a region is `agent_silent` |
/// | `CLOWDER_SINK_VERDICT_FORGET_AFTER` | `86400` | seconds without a round before a region is no longer listed |
/// | `CLOWDER_SINK_VERDICT_WARMUP` | `SILENT_AFTER` | seconds after start before the first verdict is published |
/// | `CLOWDER_SINK_LOG_LEVEL` | `info` | `trace` … `critical` |
///
/// A region that stops reporting is `agent_silent` in the verdict of the first
/// period ending more than `SILENT_AFTER` after its last round, published
/// `DELAY` later: at most `SILENT_AFTER + PERIOD + DELAY` seconds after its
/// last round (195 s with the defaults).
public struct VerdictSettings: Sendable {
    /// RabbitMQ URL.
    public var amqpURL: String
    /// Exchange consumed and published to.
    public var exchange: String
    /// This replica's queue.
    public var queue: String
    /// The rule.
    public var policy: VerdictPolicy
    /// Seconds per verdict.
    public var period: Double
    /// Seconds after a period's end before it is judged.
    public var delay: Double
    /// Seconds after start before the first verdict is published.
    public var warmup: Double
    /// Log level.
    public var logLevel: Logger.Level

    /// - Parameters: see the properties.
    public init(amqpURL: String = "amqp://guest:guest@127.0.0.1:5672/", exchange: String = "clowder.metrics",
                queue: String? = nil, policy: VerdictPolicy = VerdictPolicy(), period: Double = 60, delay: Double = 15,
                warmup: Double? = nil, logLevel: Logger.Level = .info) {
        self.amqpURL = amqpURL
        self.exchange = exchange
        self.queue = queue ?? "\(exchange).verdicts.\(Self.hostName())"
        self.policy = policy
        self.period = period
        self.delay = delay
        self.warmup = warmup ?? policy.silentAfter
        self.logLevel = logLevel
    }

    /// Reads and checks every key.
    /// - Throws: one ``SinkError`` (config) listing every problem, one per line.
    public init(reader: ConfigReader) throws {
        var p = KeyReader(reader: reader)
        let url = p.string("CLOWDER_SINK_AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672/")
        do { _ = try BrokerURL.list(url) } catch {
            p.fail(
                "CLOWDER_SINK_AMQP_URL", BrokerURL.redacted(url),
                "a URL like amqp://user:password@host:5672/vhost, or several separated by commas (\((error as? BrokerError)?.message ?? "\(error)"))")
        }
        let exchange = p.string("CLOWDER_SINK_EXCHANGE", default: "clowder.metrics")
        if exchange.isEmpty { p.fail("CLOWDER_SINK_EXCHANGE", exchange, "an exchange name") }
        let queue = p.raw("CLOWDER_SINK_VERDICT_QUEUE").flatMap { $0.isEmpty ? nil : $0 }
        let quorum = p.int("CLOWDER_SINK_VERDICT_QUORUM", default: 2, range: 1...1000)
        let period = p.seconds("CLOWDER_SINK_VERDICT_PERIOD", default: 60, range: 0.1...86_400)
        let delay = p.seconds("CLOWDER_SINK_VERDICT_DELAY", default: 15, range: 0...3600)
        let silent = p.seconds("CLOWDER_SINK_VERDICT_SILENT_AFTER", default: 120, range: 0.1...86_400)
        let forget = p.seconds("CLOWDER_SINK_VERDICT_FORGET_AFTER", default: 86_400, range: 0.1...(366 * 86_400))
        if forget < silent { p.fail("CLOWDER_SINK_VERDICT_FORGET_AFTER", "\(forget)", "at least SILENT_AFTER (\(silent) s)") }
        let warmup = p.seconds("CLOWDER_SINK_VERDICT_WARMUP", default: silent, range: 0...86_400)
        let level = p.string("CLOWDER_SINK_LOG_LEVEL", default: "info")
        let logLevel = Logger.Level(rawValue: level)
        if logLevel == nil { p.fail("CLOWDER_SINK_LOG_LEVEL", level, "one of trace, debug, info, notice, warning, error, critical") }
        if !p.errors.isEmpty {
            throw SinkError(.config, p.errors.map(\.message).joined(separator: "\n"), key: p.errors.first?.key)
        }
        self.init(amqpURL: url, exchange: exchange, queue: queue,
                  policy: VerdictPolicy(quorum: quorum, silentAfter: silent, forgetAfter: forget),
                  period: period, delay: delay, warmup: warmup, logLevel: logLevel ?? .info)
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
