import Broker
import Configuration
import NIOCore
import SystemPackage
import SystemSupport

/// The ingest's settings, from `CLOWDER_INGEST_*` keys: the process
/// environment first, then the env file given with `--env-file` (`KEY=value`
/// lines, `#` comments), read with swift-configuration.
///
/// | key | meaning | default |
/// |---|---|---|
/// | `CLOWDER_INGEST_HOST` | listen address | `127.0.0.1` |
/// | `CLOWDER_INGEST_PORT` | listen port (0 = any free port) | `8080` |
/// | `CLOWDER_INGEST_PUBLIC_URL` | scheme and authority clients sign as `@target-uri` (behind a proxy), e.g. `https://ingest.example.org` | `http://<Host>` |
/// | `CLOWDER_INGEST_KEYS_FILE` | keys file (see ``KeyStore``), re-read on SIGHUP | required |
/// | `CLOWDER_INGEST_BROKER_URL` | `amqp://user:password@host:port/vhost`, or several separated by commas (the nodes of a RabbitMQ cluster, tried in order; after a failed connect or a lost connection the next one); empty = local journal | empty |
/// | `CLOWDER_INGEST_EXCHANGE` | durable fanout exchange | `clowder.metrics` |
/// | `CLOWDER_INGEST_JOURNAL_PATH` | SQLite journal when no broker | `clowder-ingest-journal.db` |
/// | `CLOWDER_INGEST_DEDUPE_PATH` | SQLite de-duplication table | `clowder-ingest-dedupe.db` |
/// | `CLOWDER_INGEST_DEDUPE_TTL` | seconds a batch id is remembered | `604800` (7 days) |
/// | `CLOWDER_INGEST_DEDUPE_MAX_ENTRIES` | most batch ids remembered | `1000000` |
/// | `CLOWDER_INGEST_MAX_BODY_BYTES` | largest body as sent (413 beyond) | `4194304` |
/// | `CLOWDER_INGEST_MAX_DECODED_BYTES` | largest body once decompressed (413 beyond) | `33554432` |
/// | `CLOWDER_INGEST_RATE_LIMIT` | requests per second per key (0 = off) | `50` |
/// | `CLOWDER_INGEST_RATE_BURST` | burst per key | `200` |
/// | `CLOWDER_INGEST_CLOCK_SKEW` | seconds `created` may differ from now | `300` |
/// | `CLOWDER_INGEST_CONFIRM_TIMEOUT` | seconds to wait for publisher confirms | `30` |
/// | `CLOWDER_INGEST_RETRY_AFTER` | `Retry-After` seconds on 503 | `5` |
/// | `CLOWDER_INGEST_MAX_POINTS` | most points per request (400 beyond) | `10000` |
/// | `CLOWDER_INGEST_MAX_EVENTS` | most events per request (400 beyond) | `10000` |
/// | `CLOWDER_INGEST_POINTS_PER_MESSAGE` | most points of one batch in one published message (`metric_points`, see `MetricsMessage.pointsMessageBytes`); `1` publishes each point as a message of its own (the flat `metric` message), for consumers that read only that | `100` |
/// | `CLOWDER_INGEST_MAX_MESSAGE_BYTES` | largest published message, bytes (400 beyond; RabbitMQ's `max_message_size` is 128 MiB) | `262144` |
/// | `CLOWDER_INGEST_MAX_AGE` | seconds a point's or event's time may lie in the past (400 beyond) | `2592000` (30 days) |
/// | `CLOWDER_INGEST_MAX_FUTURE` | seconds it may lie in the future (400 beyond) | `3600` |
/// | `CLOWDER_INGEST_MAX_CONNECTIONS` | open connections; one more is closed at once | `512` |
/// | `CLOWDER_INGEST_MAX_BODIES_IN_FLIGHT` | request bodies read at once (503 with `Retry-After` beyond) | `16` |
/// | `CLOWDER_INGEST_MAX_HEADER_BYTES` | all header lines of a request together, bytes (the connection is closed beyond) | `16384` |
/// | `CLOWDER_INGEST_IDLE_TIMEOUT` | seconds a connection may send and receive nothing | `30` |
/// | `CLOWDER_INGEST_HEADER_TIMEOUT` | seconds for a request's header section to arrive | `10` |
/// | `CLOWDER_INGEST_BODY_TIMEOUT` | seconds for its body to arrive | `60` |
/// | `CLOWDER_INGEST_AUTH_FAILURES_PER_MINUTE` | failed authentications per client address per minute before 429 (0 = off) | `30` |
/// | `CLOWDER_INGEST_TRUSTED_PROXIES` | comma-separated IP addresses of the proxies in front (TLS); from them the client address is taken from `X-Forwarded-For` | empty: the peer's address |
/// | `CLOWDER_INGEST_SWAGGER_UI_DIR` | folder holding Swagger UI's `swagger-ui-bundle.js` and `swagger-ui.css` (PyPI `swagger-ui-py` 25.7.1: `<site-packages>/swagger_ui/static`), served at `/docs` | empty: `/docs` says how to install it |
/// | `CLOWDER_INGEST_STATUS_PAGE`, `_STATUS_PATH`, `_STATUS_QUEUE` | the status page, see ``StatusSettings`` | |
///
/// ```swift
/// let config = try await IngestConfiguration.load(environmentFile: "/etc/clowder-metrics/ingest.env")
/// ```
public struct IngestConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var publicURL: String?
    public var keysFile = ""
    /// The broker's nodes, in the order they are tried; empty = local journal.
    public var brokerURLs: [BrokerURL] = []
    /// The first of ``brokerURLs``; setting it makes it the only one (nil: none).
    package var brokerURL: BrokerURL? {
        get { brokerURLs.first }
        set { brokerURLs = newValue.map { [$0] } ?? [] }
    }
    public var exchange = "clowder.metrics"
    public var journalPath = "clowder-ingest-journal.db"
    public var dedupePath = "clowder-ingest-dedupe.db"
    /// Seconds.
    public var dedupeTTL: Double = 7 * 86400
    public var dedupeMaxEntries = 1_000_000
    /// Bytes.
    public var maxBodyBytes = 4 << 20
    /// Bytes.
    public var maxDecodedBytes = 32 << 20
    /// Requests per second per key.
    public var rateLimit: Double = 50
    public var rateBurst: Double = 200
    /// Seconds.
    public var allowedSkew: Double = 300
    /// Seconds.
    public var confirmTimeout: Double = 30
    /// Seconds.
    public var retryAfter = 5
    /// Most points of one batch in one published message (1: each point a flat message of its own).
    public var pointsPerMessage = 100
    /// Bounds on accepted values (``IngestLimits``).
    public var limits = IngestLimits()
    public var maxConnections = 512
    public var maxBodiesInFlight = 16
    /// Bytes.
    public var maxHeaderBytes = 16 << 10
    /// Seconds.
    public var idleTimeout: Double = 30
    /// Seconds.
    public var headerTimeout: Double = 10
    /// Seconds.
    public var bodyTimeout: Double = 60
    /// Failed authentications per client address per minute (0 = no limit).
    public var authFailuresPerMinute: Double = 30
    /// Peer addresses (IP literals, as `SocketAddress.ipAddress` spells them) of the proxies in front. A request
    /// from one of them is counted against the address `X-Forwarded-For` names (its rightmost entry that is not
    /// itself a trusted proxy), so that behind a proxy one client's failed authentications do not refuse every
    /// other client; a request from any other peer is counted against the peer, whatever it sends.
    public var trustedProxies: Set<String> = []
    /// Swagger UI's folder; nil = not installed.
    public var swaggerUIDirectory: String?
    /// The status page (`CLOWDER_INGEST_STATUS_*`, see ``StatusSettings``).
    public var status = StatusSettings()

    public init() {}

    /// Every key this type reads, for `check` and documentation.
    public static let keys = [
        "CLOWDER_INGEST_HOST", "CLOWDER_INGEST_PORT", "CLOWDER_INGEST_PUBLIC_URL", "CLOWDER_INGEST_KEYS_FILE",
        "CLOWDER_INGEST_BROKER_URL", "CLOWDER_INGEST_EXCHANGE", "CLOWDER_INGEST_JOURNAL_PATH", "CLOWDER_INGEST_DEDUPE_PATH",
        "CLOWDER_INGEST_DEDUPE_TTL", "CLOWDER_INGEST_DEDUPE_MAX_ENTRIES", "CLOWDER_INGEST_MAX_BODY_BYTES",
        "CLOWDER_INGEST_MAX_DECODED_BYTES", "CLOWDER_INGEST_RATE_LIMIT", "CLOWDER_INGEST_RATE_BURST", "CLOWDER_INGEST_CLOCK_SKEW",
        "CLOWDER_INGEST_CONFIRM_TIMEOUT", "CLOWDER_INGEST_RETRY_AFTER", "CLOWDER_INGEST_MAX_POINTS", "CLOWDER_INGEST_MAX_EVENTS",
        "CLOWDER_INGEST_MAX_MESSAGE_BYTES", "CLOWDER_INGEST_POINTS_PER_MESSAGE", "CLOWDER_INGEST_MAX_AGE", "CLOWDER_INGEST_MAX_FUTURE", "CLOWDER_INGEST_MAX_CONNECTIONS",
        "CLOWDER_INGEST_MAX_BODIES_IN_FLIGHT", "CLOWDER_INGEST_MAX_HEADER_BYTES", "CLOWDER_INGEST_IDLE_TIMEOUT",
        "CLOWDER_INGEST_HEADER_TIMEOUT", "CLOWDER_INGEST_BODY_TIMEOUT", "CLOWDER_INGEST_AUTH_FAILURES_PER_MINUTE",
        "CLOWDER_INGEST_TRUSTED_PROXIES", "CLOWDER_INGEST_SWAGGER_UI_DIR",
    ] + StatusSettings.keys

    /// Reads the settings: `environment` (default: the process environment) wins over `environmentFile`.
    /// - Throws: ``IngestError`` `configuration` naming the key, the value and what is expected.
    public static func load(environmentFile: String?, environment: [String: String]? = nil) async throws -> IngestConfiguration {
        var providers: [any ConfigProvider] = [
            environment.map { EnvironmentVariablesProvider(environmentVariables: $0) } ?? EnvironmentVariablesProvider()
        ]
        if let environmentFile {
            do {
                providers.append(try await EnvironmentVariablesProvider(environmentFilePath: FilePath(environmentFile)))
            } catch {
                throw IngestError(.configuration, "cannot read the env file \(environmentFile)", underlying: error)
            }
        }
        return try IngestConfiguration(reader: ConfigReader(providers: providers))
    }

    /// Reads the settings from a `ConfigReader` (keys `clowder.ingest.*`).
    /// - Throws: ``IngestError`` `configuration`.
    public init(reader: ConfigReader) throws {
        func value(_ name: String) -> (key: String, value: String)? {
            let key = "CLOWDER_INGEST_" + name.uppercased()
            guard let v = reader.string(forKey: ConfigKey(["clowder", "ingest", name]), isSecret: name == "broker_url") else { return nil }
            let t = v.trimmingSpaces
            return t.isEmpty ? nil : (key, t)
        }
        func bad(_ key: String, _ v: String, _ expected: String) -> IngestError {
            IngestError(.configuration, SettingValue.message(
                key: key, value: key == "CLOWDER_INGEST_BROKER_URL" ? BrokerURL.redacted(v) : v, expected: expected))
        }
        func int(_ name: String, _ range: ClosedRange<Int>, into target: inout Int) throws {
            guard let (k, v) = value(name) else { return }
            do { target = try SettingValue.integer(v, in: range) } catch { throw bad(k, v, error.expected) }
        }
        func double(_ name: String, _ range: ClosedRange<Double>, unit: String = "seconds", into target: inout Double) throws {
            guard let (k, v) = value(name) else { return }
            do {
                target = unit == "seconds"
                    ? try SettingValue.seconds(v, in: range) : try SettingValue.number(v, in: range, unit: unit)
            } catch { throw bad(k, v, error.expected) }
        }
        if let (_, v) = value("host") { host = v }
        try int("port", 0...65535, into: &port)
        if let (k, v) = value("public_url") {
            do { _ = try SettingValue.url(v, schemes: ["http", "https"]) } catch { throw bad(k, v, error.expected) }
            publicURL = v.hasSuffix("/") ? String(v.dropLast()) : v
        }
        guard let (_, keys) = value("keys_file") else {
            throw IngestError(.configuration, "CLOWDER_INGEST_KEYS_FILE is not set: expected the path of the keys file")
        }
        keysFile = keys
        if let (k, v) = value("broker_url") {
            do { brokerURLs = try BrokerURL.list(v) } catch {
                throw bad(k, v, "amqp://user:password@host:port/vhost, or several separated by commas (\(error))")
            }
        }
        if let (k, v) = value("exchange") {
            guard v.utf8.count <= 255, v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw bad(k, v, "an exchange name of 1-255 printable ASCII characters")
            }
            exchange = v
        }
        if let (_, v) = value("journal_path") { journalPath = v }
        if let (_, v) = value("dedupe_path") { dedupePath = v }
        try double("dedupe_ttl", 60...(10 * 365 * 86400), into: &dedupeTTL)
        try int("dedupe_max_entries", 1000...1_000_000_000, into: &dedupeMaxEntries)
        try int("max_body_bytes", 1024...(1 << 30), into: &maxBodyBytes)
        try int("max_decoded_bytes", 1024...(1 << 31), into: &maxDecodedBytes)
        try double("rate_limit", 0...1_000_000, unit: "requests per second", into: &rateLimit)
        try double("rate_burst", 1...1_000_000, unit: "requests", into: &rateBurst)
        try double("clock_skew", 1...86400, into: &allowedSkew)
        try double("confirm_timeout", 0.1...3600, into: &confirmTimeout)
        try int("retry_after", 0...3600, into: &retryAfter)
        try int("max_points", 1...1_000_000, into: &limits.maxPoints)
        try int("max_events", 1...1_000_000, into: &limits.maxEvents)
        try int("max_message_bytes", 4096...(64 << 20), into: &limits.maxMessageBytes)
        try int("points_per_message", 1...10_000, into: &pointsPerMessage)
        var age = Int(limits.maxAgeSeconds), future = Int(limits.maxFutureSeconds)
        try int("max_age", 60...(10 * 365 * 86400), into: &age)
        try int("max_future", 1...(365 * 86400), into: &future)
        limits.maxAgeSeconds = Int64(age)
        limits.maxFutureSeconds = Int64(future)
        try int("max_connections", 1...1_000_000, into: &maxConnections)
        try int("max_bodies_in_flight", 1...100_000, into: &maxBodiesInFlight)
        try int("max_header_bytes", 1024...(1 << 20), into: &maxHeaderBytes)
        try double("idle_timeout", 1...3600, into: &idleTimeout)
        try double("header_timeout", 1...3600, into: &headerTimeout)
        try double("body_timeout", 1...3600, into: &bodyTimeout)
        try double("auth_failures_per_minute", 0...1_000_000, unit: "failures per minute", into: &authFailuresPerMinute)
        if let (k, v) = value("trusted_proxies") {
            for a in v.split(separator: ",").map({ String($0).trimmingSpaces }) where !a.isEmpty {
                guard let parsed = try? SocketAddress(ipAddress: a, port: 0), let ip = parsed.ipAddress else {
                    throw bad(k, v, "comma-separated IP addresses (\(a) is not one)")
                }
                trustedProxies.insert(ip)
            }
        }
        if let (_, v) = value("swagger_ui_dir") { swaggerUIDirectory = v }
        if maxDecodedBytes < maxBodyBytes { maxDecodedBytes = maxBodyBytes }
        status = try StatusSettings(reader: reader)
    }
}

