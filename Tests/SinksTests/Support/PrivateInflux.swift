import Foundation

/// A private `influxd` (InfluxDB 1.x from Debian's package) on free loopback ports with its own temporary
/// directories, which a test may stop and start again (same data) to simulate an outage.
final class PrivateInflux: @unchecked Sendable {
    let directory: URL
    let httpPort: Int
    private var process: Process?

    init() throws {
        directory = try TestServers.temporaryDirectory()
        httpPort = TestServers.freePort()
        let rpcPort = TestServers.freePort()
        let d = directory.path
        let config = """
            reporting-disabled = true
            bind-address = "127.0.0.1:\(rpcPort)"
            [meta]
              dir = "\(d)/meta"
            [data]
              dir = "\(d)/data"
              wal-dir = "\(d)/wal"
              query-log-enabled = false
            [monitor]
              store-enabled = false
            [http]
              bind-address = "127.0.0.1:\(httpPort)"
              log-enabled = false
            [logging]
              level = "warn"
            """
        try config.write(to: directory.appendingPathComponent("influxdb.conf"), atomically: true, encoding: .utf8)
    }

    var url: String { "http://127.0.0.1:\(httpPort)" }

    /// Starts influxd and waits until it answers queries.
    func start() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/influxd")
        p.arguments = ["-config", directory.appendingPathComponent("influxdb.conf").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let up = await TestServers.eventually(timeout: 30) { await self.ping() }
        guard up else { throw POSIXError(.ETIMEDOUT) }
    }

    /// Stops influxd (SIGTERM) and waits for it to exit.
    func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    func ping() async -> Bool {
        // HTTPClient only POSTs, and InfluxDB answers POST /ping with 405: ask `SHOW DATABASES` instead.
        let client = HTTPClientForTests.shared
        guard
            let r = try? await client.post(
                url: url + "/query", headers: ["Content-Type: application/x-www-form-urlencoded"], body: Array("q=SHOW+DATABASES".utf8))
        else { return false }
        return r.status == 200
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

@testable import Sinks

enum HTTPClientForTests {
    static let shared = HTTPClient(label: "tests", timeout: 2, connectTimeout: 1)
}
