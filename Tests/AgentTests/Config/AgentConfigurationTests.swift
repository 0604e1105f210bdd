import Foundation
import Testing

@testable import Agent

@Suite("AgentConfiguration")
struct AgentConfigurationTests {
    func write(_ text: String, ext: String = "env") throws -> String {
        let path = NSTemporaryDirectory() + "agent-config-\(UUID().uuidString).\(ext)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("KEY=value file with comments; environment wins")
    func envFile() async throws {
        let path = try write("""
            # an agent beside NGINX
            CLOWDER_METRICS_REGION=eu-west
            CLOWDER_METRICS_ACCESS_LOG=/var/log/nginx/access.log, /var/log/nginx/other-*.log
            CLOWDER_METRICS_WINDOW=30
            CLOWDER_METRICS_LOG_FORMAT="$remote_addr - $remote_user [$time_local] \\"$request\\" $status"

            CLOWDER_METRICS_CONTEXT_PREFIX=/clowder/
            """)
        let (c, warnings) = try await AgentConfiguration.load(envFile: path, environment: ["CLOWDER_METRICS_WINDOW": "120"])
        #expect(warnings.isEmpty)
        #expect(c.region == "eu-west")
        #expect(c.accessLogs == ["/var/log/nginx/access.log", "/var/log/nginx/other-*.log"])
        #expect(c.windowSeconds == 120)
        #expect(c.allowedLatenessSeconds == 30)
        #expect(c.contextPrefix == "/clowder")
        #expect(c.logFormat == #"$remote_addr - $remote_user [$time_local] \"$request\" $status"#)
        #expect(c.ingestURL == nil)
        #expect(c.outputFile == "-")
    }

    @Test("flat YAML file")
    func yamlFile() async throws {
        let path = try write("""
            # remote region, probes only
            CLOWDER_METRICS_REGION: ap-south
            CLOWDER_METRICS_HTTP_TARGETS: "https://clowder.example.org/healthz,https://clowder.example.org/"
            CLOWDER_METRICS_PROBE_INTERVAL: 15
            CLOWDER_METRICS_HTTP_EXPECT_BODY: healthy
            """, ext: "yaml")
        let (c, _) = try await AgentConfiguration.load(envFile: path, environment: [:])
        #expect(c.region == "ap-south")
        #expect(c.httpTargets == ["https://clowder.example.org/healthz", "https://clowder.example.org/"])
        #expect(c.probeIntervalSeconds == 15)
        #expect(c.httpExpectBody == "healthy")
        #expect(!c.tailsLogs)
        #expect(c.probes)
    }

    @Test("a bad value names the file, line, key, value and what is expected")
    func badValue() async throws {
        let path = try write("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\n# c\nCLOWDER_METRICS_WINDOW=1m\n")
        await #expect {
            try await AgentConfiguration.load(envFile: path, environment: [:])
        } throws: { error in
            let e = try #require(error as? ConfigError)
            return e.code == .invalidValue && e.key == "CLOWDER_METRICS_WINDOW" && e.value == "1m"
                && e.source == "\(path):3" && e.description.contains("whole number of seconds")
        }
    }

    @Test("an unknown key is refused with a suggestion")
    func unknownKey() async throws {
        let path = try write("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nCLOWDER_METRICS_REGOIN=eu\n")
        await #expect {
            try await AgentConfiguration.load(envFile: path, environment: [:])
        } throws: { error in
            let e = try #require(error as? ConfigError)
            return e.code == .unknownKey && e.source == "\(path):2" && e.description.contains("CLOWDER_METRICS_REGION")
        }
    }

    @Test("a line that is not KEY=value is a syntax error with its line")
    func syntax() async throws {
        let path = try write("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nthis is not a setting\n")
        await #expect {
            try await AgentConfiguration.load(envFile: path, environment: [:])
        } throws: { error in
            let e = try #require(error as? ConfigError)
            return e.code == .syntax && e.source == "\(path):2"
        }
    }

    @Test("nested YAML is refused")
    func nestedYAML() async throws {
        let path = try write("clowder:\n  metrics: 1\n", ext: "yml")
        await #expect(throws: ConfigError.self) { try await AgentConfiguration.load(envFile: path, environment: [:]) }
    }

    @Test("an ingest URL needs a readable key file")
    func ingestNeedsKey() async throws {
        let path = try write("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nCLOWDER_METRICS_INGEST_URL=https://metrics.example.org\nCLOWDER_METRICS_API_KEY_ID=web-1\nCLOWDER_METRICS_API_KEY_FILE=/nonexistent/key\n")
        await #expect {
            try await AgentConfiguration.load(envFile: path, environment: [:])
        } throws: { error in
            let e = try #require(error as? ConfigError)
            return e.key == "CLOWDER_METRICS_API_KEY_FILE" && e.description.contains("cannot read")
        }
    }

    @Test("nothing to measure is refused; a missing file is an error")
    func nothing() async throws {
        let path = try write("CLOWDER_METRICS_REGION=eu\n")
        await #expect(throws: ConfigError.self) { try await AgentConfiguration.load(envFile: path, environment: [:]) }
        await #expect(throws: ConfigError.self) { try await AgentConfiguration.load(envFile: "/nonexistent/agent.env", environment: [:]) }
    }

    /// The error `load` throws for `text` (as an env file), or nil.
    func loadError(_ text: String, ext: String = "env") async throws -> ConfigError? {
        let path = try write(text, ext: ext)
        do {
            _ = try await AgentConfiguration.load(envFile: path, environment: [:])
            return nil
        } catch let e as ConfigError {
            #expect(e.description.hasPrefix(path), "names the file: \(e)")
            return e
        }
    }

    @Test("Windows line endings and `export` are refused with the line and the fix, not read as one value")
    func crlfAndExport() async throws {
        let crlf = try #require(try await loadError("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\r\nCLOWDER_METRICS_WINDOW=1m\r\n"))
        #expect(crlf.code == .syntax && crlf.source?.hasSuffix(":1") == true && crlf.expected.contains("carriage return"))
        let export = try #require(try await loadError("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nexport CLOWDER_METRICS_WINDOW=1m\n"))
        #expect(export.code == .syntax && export.source?.hasSuffix(":2") == true)
        #expect(export.expected.contains("write CLOWDER_METRICS_WINDOW="))
        // YAML allows CRLF line breaks: the values are read.
        let path = try write("CLOWDER_METRICS_ACCESS_LOG: /tmp/x.log\r\nCLOWDER_METRICS_WINDOW: 30\r\n", ext: "yaml")
        let (c, _) = try await AgentConfiguration.load(envFile: path, environment: [:])
        #expect(c.windowSeconds == 30 && c.accessLogs == ["/tmp/x.log"])
    }

    @Test("a missing settings file, an empty or directory key file, an unknown format name: file, line and what to fix")
    func setupErrors() async throws {
        do {
            _ = try await AgentConfiguration.load(envFile: "/nonexistent/agent.env", environment: [:])
            Issue.record("no error")
        } catch let e as ConfigError {
            #expect(e.description == "/nonexistent/agent.env: cannot read the settings file: No such file or directory")
        }
        let empty = try write("")
        let dir = NSTemporaryDirectory()
        for (keyFile, expected) in [(empty, "the file is empty"), (dir, "not a regular file")] {
            let e = try #require(try await loadError("""
                CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log
                CLOWDER_METRICS_INGEST_URL=https://metrics.example.org
                CLOWDER_METRICS_API_KEY_ID=web-1
                CLOWDER_METRICS_API_KEY_FILE=\(keyFile)
                """))
            #expect(e.key == "CLOWDER_METRICS_API_KEY_FILE" && e.source?.hasSuffix(":4") == true && e.expected.contains(expected))
        }
        let format = try #require(try await loadError("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nCLOWDER_METRICS_LOG_FORMAT=clowder-metrics\n"))
        #expect(format.key == "CLOWDER_METRICS_LOG_FORMAT" && format.value == "clowder-metrics" && format.source?.hasSuffix(":2") == true)
        #expect(format.expected.contains("known: combined, clowder_metrics"))
    }

    @Test("a quoted value may carry a trailing comment")
    func quotedWithComment() async throws {
        let path = try write("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nCLOWDER_METRICS_REGION=\"eu west\" # the region\n")
        let (c, _) = try await AgentConfiguration.load(envFile: path, environment: [:])
        #expect(c.region == "eu west")
    }

    @Test("a key set twice is refused, naming both lines")
    func keySetTwice() async throws {
        let e = try #require(try await loadError("CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nCLOWDER_METRICS_WINDOW=30\n\nCLOWDER_METRICS_WINDOW=60\n"))
        #expect(e.key == "CLOWDER_METRICS_WINDOW" && e.source?.hasSuffix(":4") == true && e.expected.contains("line 2"))
    }
}
