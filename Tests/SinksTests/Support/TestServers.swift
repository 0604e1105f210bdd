import Broker
import Foundation
import Logging
import MetricsModel
import Testing

@testable import Sinks

/// Addresses of the servers `.ci/run` starts, overridable by the environment.
enum TestServers {
    static let amqpURL = ProcessInfo.processInfo.environment["CLOWDER_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672"
    static let influxURL = ProcessInfo.processInfo.environment["CLOWDER_TEST_INFLUX_URL"] ?? "http://127.0.0.1:8086"
    static let postgresURL =
        ProcessInfo.processInfo.environment["CLOWDER_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/clowder_test"

    /// A name unique to this test run, e.g. `t_3f2a…`, usable as an exchange, queue, database or table prefix.
    static func unique(_ label: String) -> String {
        "t_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    static var logger: Logger {
        var l = Logger(label: "sinks-tests")
        l.logLevel = ProcessInfo.processInfo.environment["CLOWDER_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return l
    }

    /// A temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-sinks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// A free loopback TCP port (bound then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Settings for a test: a unique exchange, dead-letter exchange and queue; short delays.
    static func settings(sinks: [SinkDefinition] = [], exchange: String = unique("x")) -> SinkSettings {
        var s = try! SinkSettings(
            values: [
                "CLOWDER_SINK_AMQP_URL": amqpURL, "CLOWDER_SINK_EXCHANGE": exchange,
                "CLOWDER_SINK_DLX_EXCHANGE": exchange + ".dlx", "CLOWDER_SINK_DLX_QUEUE": exchange + ".dlx",
                "CLOWDER_SINK_SINKS": "sqlite", "CLOWDER_SINK_SQLITE_PATH": "/dev/null",
                "CLOWDER_SINK_RETRY_MAX_DELAY": "1", "CLOWDER_SINK_SHUTDOWN_GRACE": "10",
            ])
        s.sinks = sinks
        return s
    }

    static func sink(_ name: String, exchange: String, batchSize: Int = 500, maxDelay: Double = 0.2, _ d: SinkDefinition.DestinationSettings)
        -> SinkDefinition
    {
        SinkDefinition(name: name, queue: "\(exchange).\(name)", batchSize: batchSize, maxDelay: maxDelay, prefetch: 2 * batchSize, destination: d)
    }

    /// Publishes raw bodies (with message ids) to `exchange`, declaring it.
    static func publish(_ messages: [OutgoingMessage], exchange: String) async throws {
        let p = BrokerPublisher(url: try BrokerURL(amqpURL), exchange: ExchangeDeclaration(name: exchange))
        p.start()
        defer { Task { await p.shutdown() } }
        #expect(await p.waitUntilConnected(timeout: 20), "RabbitMQ at \(amqpURL) is not reachable")
        var i = 0
        while i < messages.count {
            let chunk = Array(messages[i..<min(messages.count, i + 1000)])
            try await p.publish(chunk)
            i += chunk.count
        }
        await p.shutdown()
    }

    /// Runs an InfluxQL query (`POST /query`) and returns the first series' rows.
    static func influxQuery(_ url: String = influxURL, db: String, _ q: String) async throws -> [[JSONValue]] {
        let client = HTTPClient(label: "test-influx")
        let body = "db=\(InfluxDestination.percentEncoded(db))&q=\(InfluxDestination.percentEncoded(q))"
        let r = try await client.post(
            url: "\(url)/query", headers: ["Content-Type: application/x-www-form-urlencoded"], body: Array(body.utf8))
        #expect(r.status == 200, "InfluxDB query \(q): \(r.status) \(r.text())")
        let v = try JSONValue(parsing: r.body)
        let series = v["results"]?.arrayValue?.first?["series"]?.arrayValue ?? []
        return series.first?["values"]?.arrayValue?.compactMap(\.arrayValue) ?? []
    }

    /// The columns of the first series of a query.
    static func influxColumns(_ url: String = influxURL, db: String, _ q: String) async throws -> [String: JSONValue] {
        let client = HTTPClient(label: "test-influx")
        let body = "db=\(InfluxDestination.percentEncoded(db))&q=\(InfluxDestination.percentEncoded(q))"
        let r = try await client.post(
            url: "\(url)/query", headers: ["Content-Type: application/x-www-form-urlencoded"], body: Array(body.utf8))
        let v = try JSONValue(parsing: r.body)
        guard let s = v["results"]?.arrayValue?.first?["series"]?.arrayValue?.first,
            let cols = s["columns"]?.arrayValue?.compactMap(\.stringValue), let row = s["values"]?.arrayValue?.first?.arrayValue
        else { return [:] }
        return Dictionary(uniqueKeysWithValues: zip(cols, row).map { ($0, $1) })
    }

    static func dropInfluxDatabase(_ db: String, url: String = influxURL) async {
        let client = HTTPClient(label: "test-influx")
        _ = try? await client.post(
            url: "\(url)/query", headers: ["Content-Type: application/x-www-form-urlencoded"],
            body: Array("q=\(InfluxDestination.percentEncoded("DROP DATABASE \"\(db)\""))".utf8))
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` seconds pass.
    static func eventually(timeout: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

