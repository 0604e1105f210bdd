import Foundation
import Ingest
import MetricsModel
import TestSupport
import Testing

@Suite("Ingest parts: configuration, keys file, de-duplication store", .ownThreads)
struct IngestPartsTests {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-ingest-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test("env file values, process environment wins, bad values name key, value and what is expected")
    func configuration() async throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let env = d.appendingPathComponent("ingest.env")
        try """
        # ingest settings
        CLOWDER_INGEST_PORT=9090
        CLOWDER_INGEST_KEYS_FILE=/etc/clowder/keys
        CLOWDER_INGEST_BROKER_URL=amqp://u:p@rabbit:5673/v
        CLOWDER_INGEST_EXCHANGE=clowder.metrics.test
        CLOWDER_INGEST_RATE_LIMIT=10
        """.write(to: env, atomically: true, encoding: .utf8)
        let c = try await IngestConfiguration.load(environmentFile: env.path, environment: ["CLOWDER_INGEST_PORT": "9191"])
        #expect(c.port == 9191)
        #expect(c.keysFile == "/etc/clowder/keys")
        #expect(c.brokerURL?.host == "rabbit")
        #expect(c.brokerURL?.port == 5673)
        #expect(c.brokerURL?.virtualHost == "v")
        #expect(c.exchange == "clowder.metrics.test")
        #expect(c.rateLimit == 10)
        #expect(c.allowedSkew == 300)

        await #expect {
            _ = try await IngestConfiguration.load(environmentFile: env.path, environment: ["CLOWDER_INGEST_PORT": "http"])
        } throws: { e in
            let s = "\(e)"
            return s.contains(#"CLOWDER_INGEST_PORT="http": expected a whole number from 0 to 65535"#)
        }
        await #expect {
            _ = try await IngestConfiguration.load(environmentFile: env.path, environment: ["CLOWDER_INGEST_BROKER_URL": "rabbit:5672"])
        } throws: { "\($0)".contains(#"CLOWDER_INGEST_BROKER_URL="rabbit:5672": expected amqp://"#) }
        await #expect {
            _ = try await IngestConfiguration.load(environmentFile: nil, environment: [:])
        } throws: { "\($0)".contains("CLOWDER_INGEST_KEYS_FILE is not set") }
    }

    @Test("keys file: kinds, credentials, constant-time header keys, errors with file:line, reload")
    func keysFile() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let f = d.appendingPathComponent("keys")
        // sha256("hello") = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 (FIPS 180-4 test tools, sha256sum)
        try """
        agent-1  batches,events  hmac:hex:000102030405060708090a0b0c0d0e0f
        sink     events          sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824   # Clowder
        """.write(to: f, atomically: true, encoding: .utf8)
        let keys = try KeyStore(path: f.path)
        #expect(keys.count == 2)
        #expect(keys.secret(for: "agent-1") == Array(0..<16))
        #expect(keys.secret(for: "sink") == nil)
        #expect(keys.headerKey(matching: "hello")?.id == "sink")
        #expect(keys.headerKey(matching: "hellO") == nil)
        #expect(keys.key("agent-1")?.kinds == [.batches, .events])

        try "agent-1 batches hmac:hex:0001\n".write(to: f, atomically: true, encoding: .utf8)
        #expect {
            try keys.reload()
        } throws: { "\($0)".contains("\(f.path):1") && "\($0)".contains("at least 16") }
        #expect(keys.count == 2, "a failed reload keeps the previous keys")
        try "\n# comment\nx metrics hmac:text:0123456789abcdef\n".write(to: f, atomically: true, encoding: .utf8)
        #expect {
            try keys.reload()
        } throws: { "\($0)".contains("\(f.path):3") && "\($0)".contains("'metrics'") }
        try "new batches hmac:text:0123456789abcdef\n".write(to: f, atomically: true, encoding: .utf8)
        #expect(try keys.reload() == 1)
        #expect(keys.secret(for: "new") == Array("0123456789abcdef".utf8))
    }

    @Test("de-duplication: remembered across reopen, expired after the TTL, bounded")
    func dedupe() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let path = d.appendingPathComponent("dedupe.db").path
        do {
            let s = try DedupeStore(path: path, ttl: 100, maxEntries: 3)
            for (i, id) in ["a", "b", "c", "d"].enumerated() { try s.record(id, keyID: "k", messages: 1, now: 1000 + Double(i)) }
            #expect(try s.contains("a", keyID: "k", now: 1010))
            #expect(try !s.contains("a", keyID: "other", now: 1010), "ids are per key")
        }
        let s = try DedupeStore(path: path, ttl: 100, maxEntries: 3)
        #expect(try s.contains("d", keyID: "k", now: 1050))
        #expect(try !s.contains("d", keyID: "k", now: 1200), "expired")
        try s.sweep(now: 1010)
        #expect(s.count == 3)
        #expect(try !s.contains("a", keyID: "k", now: 1010), "the oldest went first")
        try s.sweep(now: 5000)
        #expect(s.count == 0)
    }
}
