import Foundation
import Testing

@testable import Sinks

@Suite struct SinkSettingsTests {
    @Test func defaultsAndPerSinkKeys() throws {
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyFile = dir.appendingPathComponent("amplitude.key")
        try "  abc123\n".write(to: keyFile, atomically: true, encoding: .utf8)
        let s = try SinkSettings(values: [
            "CLOWDER_SINK_SINKS": "influx, postgres,amp",
            "CLOWDER_SINK_INFLUX_URL": "http://127.0.0.1:8086",
            "CLOWDER_SINK_POSTGRES_URL": "postgres://postgres@127.0.0.1:5432/clowder",
            "CLOWDER_SINK_POSTGRES_BATCH_SIZE": "250",
            "CLOWDER_SINK_AMP_TYPE": "amplitude",
            "CLOWDER_SINK_AMP_API_KEY_FILE": keyFile.path,
            "CLOWDER_SINK_AMP_CATEGORIES": "download,view_resource",
        ])
        #expect(s.exchange == "clowder.metrics")
        #expect(s.maxDeliveries == 10)
        #expect(s.deadLetterExchange == "clowder.metrics.dlx")
        #expect(s.sinks.map(\.name) == ["influx", "postgres", "amp"])
        #expect(s.sinks.map(\.queue) == ["clowder.metrics.influx", "clowder.metrics.postgres", "clowder.metrics.amp"])
        #expect(s.sinks.map(\.batchSize) == [1000, 250, 1000])
        guard case .amplitude(let endpoint, let key, let categories) = s.sinks[2].destination else {
            Issue.record("not amplitude")
            return
        }
        #expect(endpoint == "https://api2.amplitude.com/batch")
        #expect(key == "abc123")
        #expect(categories == ["download", "view_resource"])
        guard case .influx(let c) = s.sinks[0].destination else { return }
        #expect(c.database == "clowder")
        #expect(c.version == .v1)
    }

    @Test func maxDeliveries() throws {
        let s = try SinkSettings(values: ["CLOWDER_SINK_MAX_DELIVERIES": "3", "CLOWDER_SINK_SQLITE_PATH": "/tmp/x.db"])
        #expect(s.maxDeliveries == 3)
        #expect {
            try SinkSettings(values: ["CLOWDER_SINK_MAX_DELIVERIES": "0", "CLOWDER_SINK_SQLITE_PATH": "/tmp/x.db"])
        } throws: { "\($0)".contains("CLOWDER_SINK_MAX_DELIVERIES=\"0\": expected a whole number from 1 to 1000000") }
    }

    @Test func everyProblemIsNamedWithKeyValueAndExpectation() throws {
        #expect {
            try SinkSettings(values: [
                "CLOWDER_SINK_SINKS": "influx,ga4,mystery",
                "CLOWDER_SINK_BATCH_SIZE": "lots",
                "CLOWDER_SINK_INFLUX_URL": "127.0.0.1:8086",
                "CLOWDER_SINK_GA4_API_SECRET_FILE": "/nonexistent/secret",
            ])
        } throws: { error in
            guard let e = error as? SinkError, e.code == .config else { return false }
            let lines = e.message.split(separator: "\n").map(String.init)
            return lines.contains(#"CLOWDER_SINK_BATCH_SIZE="lots": expected a whole number from 1 to 100000"#)
                && lines.contains(#"CLOWDER_SINK_INFLUX_URL="127.0.0.1:8086": expected an absolute http or https URL, e.g. http://host:port/path"#)
                && lines.contains { $0.hasPrefix("CLOWDER_SINK_GA4_MEASUREMENT_ID=(missing): expected") }
                && lines.contains(#"CLOWDER_SINK_GA4_API_SECRET_FILE="/nonexistent/secret": expected a readable, non-empty file holding the secret (No such file or directory)"#)
                && lines.contains { $0.hasPrefix("CLOWDER_SINK_MYSTERY_TYPE=(missing): expected one of influx") }
        }
    }

    @Test func environmentFileAndProcessEnvironment() async throws {
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sink.env")
        try """
            # sinks
            CLOWDER_SINK_SINKS=sqlite
            CLOWDER_SINK_SQLITE_PATH=/var/lib/clowder-metrics/sink.db
            CLOWDER_SINK_EXCHANGE=from.file
            """.write(to: file, atomically: true, encoding: .utf8)
        let reader = try await SinkSettings.reader(environmentFile: file.path, environment: ["CLOWDER_SINK_EXCHANGE": "from.env"])
        let s = try SinkSettings(reader: reader)
        #expect(s.exchange == "from.env")
        #expect(s.sinks.first?.queue == "from.env.sqlite")
    }
}
