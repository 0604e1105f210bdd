#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Broker
import Configuration
import Logging

/// The settings of one `clowder-sink` process: the broker, the exchanges and
/// the sinks it runs, read from `CLOWDER_SINK_*` keys.
///
/// Keys (process environment first, then the `--env-file`):
///
/// | Key | Default | Meaning |
/// |---|---|---|
/// | `CLOWDER_SINK_AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/` | RabbitMQ; several URLs separated by commas are the nodes of a cluster, tried in order (after a failed connect or a lost connection, the next one) |
/// | `CLOWDER_SINK_EXCHANGE` | `clowder.metrics` | durable fanout exchange consumed |
/// | `CLOWDER_SINK_DLX_EXCHANGE` | `clowder.metrics.dlx` | dead-letter exchange (durable fanout) |
/// | `CLOWDER_SINK_DLX_QUEUE` | `clowder.metrics.dlx` | durable queue bound to it, which keeps dead letters |
/// | `CLOWDER_SINK_SINKS` | `sqlite` | comma-separated sink names |
/// | `CLOWDER_SINK_QUEUE_TYPE` | `classic` | `classic` or `quorum` (the choice for a cluster: replicated on every node; declared with `x-delivery-limit` = `CLOWDER_SINK_MAX_DELIVERIES`) |
/// | `CLOWDER_SINK_BATCH_SIZE` | `1000` | messages per write |
/// | `CLOWDER_SINK_BATCH_MAX_DELAY` | `1` | seconds a partial batch waits |
/// | `CLOWDER_SINK_PREFETCH` | 2 × batch size | unacknowledged messages per sink |
/// | `CLOWDER_SINK_RETRY_MAX_DELAY` | `30` | longest backoff between write attempts, seconds |
/// | `CLOWDER_SINK_SHUTDOWN_GRACE` | `30` | seconds to finish the batch in flight on SIGTERM |
/// | `CLOWDER_SINK_MAX_DELIVERIES` | `10` | deliveries of one message before it is dead-lettered unwritten (`x-delivery-count` on quorum queues, a counter of the sink's own on classic ones) |
/// | `CLOWDER_SINK_LOG_LEVEL` | `info` | `trace` … `critical` |
///
/// Per sink `<NAME>` (the sink name upper-cased, e.g. `INFLUX`): `CLOWDER_SINK_<NAME>_TYPE`
/// (`influx`, `postgres`, `sqlite`, `amplitude`, `ga4`; default the name itself),
/// `CLOWDER_SINK_<NAME>_QUEUE` (default `<exchange>.<name>`), `CLOWDER_SINK_<NAME>_BATCH_SIZE`,
/// `…_BATCH_MAX_DELAY`, `…_PREFETCH`, and the destination's keys:
/// - influx: `_URL` (required), `_VERSION` (`v1`|`v2`), `_DATABASE` (`clowder`), `_RETENTION_POLICY`,
///   `_USERNAME`, `_PASSWORD_FILE`, `_CREATE_DATABASE` (`true`), `_ORG`, `_BUCKET`, `_TOKEN_FILE`, `_TIMEOUT` (s);
/// - postgres: `_URL` (required), `_PASSWORD_FILE`, `_TABLE_PREFIX`, `_MAX_CONNECTIONS` (`4`), `_TIMEOUT` (s, `30`);
/// - sqlite: `_PATH` (required), `_TABLE_PREFIX`;
/// - amplitude: `_API_KEY_FILE` (required), `_ENDPOINT` (`https://api2.amplitude.com/batch`), `_CATEGORIES`;
/// - ga4: `_MEASUREMENT_ID`, `_API_SECRET_FILE` (required), `_ENDPOINT`
///   (`https://www.google-analytics.com/mp/collect`), `_CATEGORIES`.
///
/// Secrets are read from files, never from keys.
///
/// ```swift
/// let reader = try await SinkSettings.reader(environmentFile: "/etc/clowder-metrics/sink.env")
/// let settings = try SinkSettings(reader: reader)
/// ```
public struct SinkSettings: Sendable {
    /// RabbitMQ URL, or several separated by commas (``BrokerURL/list(_:)``).
    public var amqpURL: String
    /// Exchange consumed.
    public var exchange: String
    /// Dead-letter exchange.
    public var deadLetterExchange: String
    /// Queue bound to the dead-letter exchange.
    public var deadLetterQueue: String
    /// `classic` or `quorum`.
    public var queueType: String
    /// Longest backoff between write attempts, seconds.
    public var retryMaxDelay: Double
    /// Seconds to finish the batch in flight on SIGTERM.
    public var shutdownGrace: Double
    /// Deliveries of one message (the first included) after which it is dead-lettered without being
    /// written (see ``DeliveryCounter``).
    public var maxDeliveries: Int
    /// Log level.
    public var logLevel: Logger.Level
    /// The sinks to run.
    public var sinks: [SinkDefinition]

    /// The known destination types.
    public static let types = ["influx", "postgres", "sqlite", "amplitude", "ga4"]

    /// A reader over the process environment and then the env file (`KEY=value` lines, `#` comments).
    /// - Throws: when the file is missing or malformed.
    public static func reader(environmentFile: String?, environment: [String: String]? = nil) async throws -> ConfigReader {
        let env =
            environment.map { EnvironmentVariablesProvider(environmentVariables: $0) } ?? EnvironmentVariablesProvider()
        guard let environmentFile else { return ConfigReader(provider: env) }
        let file = try await EnvironmentVariablesProvider(environmentFilePath: .init(environmentFile))
        return ConfigReader(providers: [env, file])
    }

    /// Reads the keys from `values` only (no process environment, no file): for tests and embedding.
    /// - Throws: ``SinkError`` (config) as ``init(reader:)``.
    public init(values: [String: String]) throws {
        try self.init(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: values)))
    }

    /// Reads and checks every key.
    /// - Throws: one ``SinkError`` (config) listing every problem, one per line: key, value, expected.
    public init(reader: ConfigReader) throws {
        var p = KeyReader(reader: reader)
        amqpURL = p.string("CLOWDER_SINK_AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672/")
        do { _ = try BrokerURL.list(amqpURL) } catch {
            p.fail(
                "CLOWDER_SINK_AMQP_URL", BrokerURL.redacted(amqpURL),
                "a URL like amqp://user:password@host:5672/vhost, or several separated by commas (\((error as? BrokerError)?.message ?? "\(error)"))")
        }
        exchange = p.string("CLOWDER_SINK_EXCHANGE", default: "clowder.metrics")
        deadLetterExchange = p.string("CLOWDER_SINK_DLX_EXCHANGE", default: "clowder.metrics.dlx")
        deadLetterQueue = p.string("CLOWDER_SINK_DLX_QUEUE", default: "clowder.metrics.dlx")
        if exchange.isEmpty { p.fail("CLOWDER_SINK_EXCHANGE", exchange, "an exchange name") }
        if deadLetterExchange.isEmpty || deadLetterExchange == exchange {
            p.fail("CLOWDER_SINK_DLX_EXCHANGE", deadLetterExchange, "an exchange name other than \(exchange)")
        }
        queueType = p.string("CLOWDER_SINK_QUEUE_TYPE", default: "classic")
        if !["classic", "quorum"].contains(queueType) { p.fail("CLOWDER_SINK_QUEUE_TYPE", queueType, "classic or quorum") }
        let batchSize = p.int("CLOWDER_SINK_BATCH_SIZE", default: 1000, range: 1...100_000)
        let maxDelay = p.seconds("CLOWDER_SINK_BATCH_MAX_DELAY", default: 1, range: 0.001...3600)
        let prefetch = p.int("CLOWDER_SINK_PREFETCH", default: min(65535, 2 * batchSize), range: 1...65535)
        retryMaxDelay = p.seconds("CLOWDER_SINK_RETRY_MAX_DELAY", default: 30, range: 0.01...3600)
        shutdownGrace = p.seconds("CLOWDER_SINK_SHUTDOWN_GRACE", default: 30, range: 0...3600)
        maxDeliveries = p.int("CLOWDER_SINK_MAX_DELIVERIES", default: 10, range: 1...1_000_000)
        let level = p.string("CLOWDER_SINK_LOG_LEVEL", default: "info")
        if let l = Logger.Level(rawValue: level) {
            logLevel = l
        } else {
            logLevel = .info
            p.fail("CLOWDER_SINK_LOG_LEVEL", level, "one of trace, debug, info, notice, warning, error, critical")
        }
        let names = p.string("CLOWDER_SINK_SINKS", default: "sqlite").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        if names.isEmpty { p.fail("CLOWDER_SINK_SINKS", "", "a comma-separated list of sink names, e.g. influx,postgres") }
        var sinks: [SinkDefinition] = []
        var seen: Set<String> = []
        for name in names {
            let key = "CLOWDER_SINK_SINKS"
            guard name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }),
                !["dlx", "dead"].contains(name)
            else {
                p.fail(key, name, "sink names of lower-case letters, digits, - and _ (not dlx)")
                continue
            }
            guard seen.insert(name).inserted else {
                p.fail(key, name, "each sink name once")
                continue
            }
            if let s = SinkDefinition.read(
                name: name, exchange: exchange, batchSize: batchSize, maxDelay: maxDelay, prefetch: prefetch, keys: &p)
            {
                sinks.append(s)
            }
        }
        self.sinks = sinks
        if !p.errors.isEmpty {
            throw SinkError(.config, p.errors.map(\.message).joined(separator: "\n"), key: p.errors[0].key)
        }
    }
}

/// One sink: its name, queue, batching and destination.
public struct SinkDefinition: Sendable {
    /// The sink name, e.g. `influx`.
    public var name: String
    /// The queue, `<exchange>.<name>` unless configured.
    public var queue: String
    /// Messages per write.
    public var batchSize: Int
    /// Seconds a partial batch waits before it is written.
    public var maxDelay: Double
    /// `basic.qos` prefetch count.
    public var prefetch: Int
    /// The destination.
    public var destination: DestinationSettings

    /// The settings of a destination.
    public enum DestinationSettings: Sendable {
        case influx(InfluxConfiguration)
        case postgres(url: String, tablePrefix: String, maximumConnections: Int, timeout: Double = 30)
        case sqlite(path: String, tablePrefix: String)
        case amplitude(endpoint: String, apiKey: String, categories: Set<String>)
        case ga4(endpoint: String, measurementID: String, apiSecret: String, categories: Set<String>)
    }

    /// Creates the destination.
    /// - Throws: ``SinkError`` (config).
    public func makeDestination(logger: Logger) throws -> any Destination {
        switch destination {
        case .influx(let c): try InfluxDestination(c)
        case .postgres(let url, let prefix, let n, let timeout):
            try PostgresDestination(url: url, tablePrefix: prefix, maximumConnections: n, timeout: timeout, logger: logger)
        case .sqlite(let path, let prefix): try SQLiteDestination(path: path, tablePrefix: prefix)
        case .amplitude(let endpoint, let key, let categories):
            AmplitudeDestination(endpoint: endpoint, apiKey: key, selection: EventSelection(categories: categories))
        case .ga4(let endpoint, let id, let secret, let categories):
            GA4Destination(endpoint: endpoint, measurementID: id, apiSecret: secret, selection: EventSelection(categories: categories))
        }
    }

    static func read(
        name: String, exchange: String, batchSize: Int, maxDelay: Double, prefetch: Int, keys p: inout KeyReader
    ) -> SinkDefinition? {
        let k = "CLOWDER_SINK_\(name.uppercased().replacing("-", with: "_"))_"
        let type = p.string(k + "TYPE", default: SinkSettings.types.contains(name) ? name : "")
        let queue = p.string(k + "QUEUE", default: "\(exchange).\(name)")
        let size = p.int(k + "BATCH_SIZE", default: batchSize, range: 1...100_000)
        let delay = p.seconds(k + "BATCH_MAX_DELAY", default: maxDelay, range: 0.001...3600)
        let pre = p.int(k + "PREFETCH", default: max(prefetch, min(65535, size)), range: 1...65535)
        func categories() -> Set<String> {
            Set(p.string(k + "CATEGORIES", default: "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        let destination: DestinationSettings
        switch type {
        case "influx":
            let url = p.required(k + "URL", expected: "the InfluxDB base URL, e.g. http://127.0.0.1:8086")
            let versionText = p.string(k + "VERSION", default: "v1")
            let version = InfluxConfiguration.Version(rawValue: versionText) ?? .v1
            if InfluxConfiguration.Version(rawValue: versionText) == nil { p.fail(k + "VERSION", versionText, "v1 or v2") }
            var c = InfluxConfiguration(
                url: url, version: version, database: p.string(k + "DATABASE", default: "clowder"),
                retentionPolicy: p.string(k + "RETENTION_POLICY", default: ""),
                username: p.string(k + "USERNAME", default: ""), password: p.secret(k + "PASSWORD_FILE") ?? "",
                org: p.string(k + "ORG", default: ""), bucket: p.string(k + "BUCKET", default: ""),
                token: "", createDatabase: p.bool(k + "CREATE_DATABASE", default: true),
                timeout: p.seconds(k + "TIMEOUT", default: 30, range: 0.1...600))
            if version == .v2 {
                c.token = p.secret(k + "TOKEN_FILE", required: true) ?? ""
                if c.org.isEmpty { p.fail(k + "ORG", nil, "the InfluxDB 2.x organisation (with VERSION=v2)") }
                if c.bucket.isEmpty { p.fail(k + "BUCKET", nil, "the InfluxDB 2.x bucket (with VERSION=v2)") }
            }
            if !url.isEmpty, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                p.fail(k + "URL", url, "an http:// or https:// URL")
            }
            destination = .influx(c)
        case "postgres":
            var url = p.required(k + "URL", expected: "a URL like postgres://user@127.0.0.1:5432/clowder")
            if !url.isEmpty {
                do { _ = try ConnectionURL(url, key: k + "URL", schemes: ["postgres", "postgresql"]) } catch let e as SinkError {
                    p.errors.append(e)
                } catch {}
            }
            if let password = p.secret(k + "PASSWORD_FILE"), let u = try? ConnectionURL(url, key: "", schemes: ["postgres", "postgresql"]) {
                // Splice the password into the URL (percent-encoded).
                let user = u.user.isEmpty ? "postgres" : u.user
                let rest = url[url.index(url.firstRange(of: "://")!.upperBound, offsetBy: 0)...]
                let hostPart = rest.firstIndex(of: "@").map { rest[rest.index(after: $0)...] } ?? rest
                url = "\(u.scheme)://\(InfluxDestination.percentEncoded(user)):\(InfluxDestination.percentEncoded(password))@\(hostPart)"
            }
            let prefix = p.string(k + "TABLE_PREFIX", default: "")
            if !SQLRows.validPrefix(prefix) { p.fail(k + "TABLE_PREFIX", prefix, "letters, digits and _") }
            destination = .postgres(
                url: url, tablePrefix: prefix, maximumConnections: p.int(k + "MAX_CONNECTIONS", default: 4, range: 1...100),
                timeout: p.seconds(k + "TIMEOUT", default: 30, range: 0.1...600))
        case "sqlite":
            let prefix = p.string(k + "TABLE_PREFIX", default: "")
            if !SQLRows.validPrefix(prefix) { p.fail(k + "TABLE_PREFIX", prefix, "letters, digits and _") }
            destination = .sqlite(path: p.required(k + "PATH", expected: "the database file path"), tablePrefix: prefix)
        case "amplitude":
            destination = .amplitude(
                endpoint: p.string(k + "ENDPOINT", default: "https://api2.amplitude.com/batch"),
                apiKey: p.secret(k + "API_KEY_FILE", required: true) ?? "", categories: categories())
        case "ga4":
            destination = .ga4(
                endpoint: p.string(k + "ENDPOINT", default: "https://www.google-analytics.com/mp/collect"),
                measurementID: p.required(k + "MEASUREMENT_ID", expected: "the GA4 web stream's measurement id, e.g. G-XXXXXXX"),
                apiSecret: p.secret(k + "API_SECRET_FILE", required: true) ?? "", categories: categories())
        default:
            p.fail(k + "TYPE", type.isEmpty ? nil : type, "one of \(SinkSettings.types.joined(separator: ", "))")
            return nil
        }
        return SinkDefinition(name: name, queue: queue, batchSize: size, maxDelay: delay, prefetch: pre, destination: destination)
    }
}

/// Reads keys as strings and collects every problem instead of stopping at the first.
struct KeyReader {
    let reader: ConfigReader
    var errors: [SinkError] = []

    mutating func fail(_ key: String, _ value: String?, _ expected: String) {
        errors.append(.config(key: key, value: value, expected: expected))
    }

    func raw(_ key: String) -> String? {
        reader.string(forKey: ConfigKey(key)).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func string(_ key: String, default d: String) -> String { raw(key) ?? d }

    mutating func required(_ key: String, expected: String) -> String {
        guard let v = raw(key), !v.isEmpty else {
            fail(key, nil, expected)
            return ""
        }
        return v
    }

    mutating func int(_ key: String, default d: Int, range: ClosedRange<Int>) -> Int {
        guard let text = raw(key) else { return d }
        guard let v = Int(text), range.contains(v) else {
            fail(key, text, "an integer in \(range.lowerBound)...\(range.upperBound)")
            return d
        }
        return v
    }

    mutating func seconds(_ key: String, default d: Double, range: ClosedRange<Double>) -> Double {
        guard let text = raw(key) else { return d }
        guard let v = Double(text), range.contains(v) else {
            fail(key, text, "seconds, a number in \(range.lowerBound)...\(range.upperBound)")
            return d
        }
        return v
    }

    mutating func bool(_ key: String, default d: Bool) -> Bool {
        guard let text = raw(key) else { return d }
        switch text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default:
            fail(key, text, "true or false")
            return d
        }
    }

    /// Reads the file named by `key`, trimmed of surrounding whitespace.
    mutating func secret(_ key: String, required: Bool = false) -> String? {
        guard let path = raw(key), !path.isEmpty else {
            if required { fail(key, nil, "the path of a file holding the secret") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        else {
            fail(key, path, "a readable, non-empty file holding the secret")
            return nil
        }
        return text
    }
}
