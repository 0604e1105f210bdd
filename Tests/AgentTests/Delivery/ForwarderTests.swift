import Foundation
import Logging
import MetricsModel
import SystemSupport
import TestSupport
import Testing

@testable import Agent

/// The forwarder against the Python receiver, which verifies every request
/// with the PyPI package `http-message-signatures` (an implementation
/// independent of ours), de-duplicates by `Idempotency-Key` and records batches.
@Suite(.serialized, .ownThreads) struct ForwarderTests {
    static func setUp(maxBytes: Int64 = 64 << 20, tls: Bool = false, trustReceiver: Bool = true, requestTimeout: Double = 10)
        throws -> (URL, Receiver, Spool, Forwarder)
    {
        let dir = try makeTempDirectory("forwarder")
        let receiver = try Receiver(keys: [Samples.keyID: Samples.secret], directory: dir, tls: tls)
        var config = try Samples.configuration(dir, ingestURL: receiver.baseURL, maxBytes: maxBytes)
        if trustReceiver { config.caFile = receiver.caFile }
        config.requestTimeout = requestTimeout
        let spool = try Spool(path: config.spoolPath, maxBytes: config.spoolMaxBytes)
        var logger = Logger(label: "test.delivery")
        logger.logLevel = .critical
        let forwarder = try Forwarder(configuration: config, spool: spool, logger: logger)
        return (dir, receiver, spool, forwarder)
    }

    /// The batches the receiver recorded, parsed with our model for comparison.
    static func received(_ s: Receiver.State) throws -> [Batch] {
        try s.batches.map { try Batch(jsonBytes: Array(JSONSerialization.data(withJSONObject: $0))) }
    }

    @Test func requestsAreAcceptedAndBatchesArriveIntact() async throws {
        let (dir, receiver, spool, forwarder) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let batches = (1...5).map { Samples.batch($0) }
        try spool.commit(batches: batches, state: [:])
        forwarder.start()
        let s = try await receiver.wait { $0.accepted >= 5 }
        #expect(s.rejected == [])
        #expect(try Self.received(s) == batches)  // content and order
        #expect(s.duplicates == 0)
        let left = await forwarder.drain(grace: .seconds(5))
        #expect(left == 0)
        #expect(forwarder.stats.batchesSent.load(ordering: .relaxed) == 5)
    }

    /// Requests built by our signer and tampered with after signing, sent with
    /// libcurl: the independent verifier accepts only the original.
    @Test func tamperedRequestsAreRefusedByThePythonVerifier() async throws {
        let (dir, receiver, _, _) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = receiver.baseURL + "/v1/batches"
        let batch = Samples.batch(7)
        let body = try Gzip.compress(batch.jsonBytes)
        let now = Int64(Date().timeIntervalSince1970)
        let signer = HTTPMessageSigner(keyID: Samples.keyID, secret: Samples.secret)
        let poster = try HTTPPoster(caFile: nil, verifyTLS: true, connectTimeout: 5)

        func send(_ headers: [(name: String, value: String)], _ body: [UInt8]) -> Int {
            poster.post(url: url, headers: [("Content-Type", "application/json"), ("Content-Encoding", "gzip")] + headers,
                        body: body, timeout: 10).status
        }
        func replacing(_ fields: [(name: String, value: String)], _ name: String, _ f: (String) -> String) -> [(name: String, value: String)] {
            fields.map { $0.name == name ? ($0.name, f($0.value)) : $0 }
        }
        let signed = try signer.sign(targetURI: url, body: body, idempotencyKey: batch.id, created: now).fields

        var flipped = body
        flipped[body.count / 2] ^= 0x01
        #expect(send(signed, flipped) == 401, "one body byte")
        let otherDigest = ContentDigest.fieldValue(for: Array("x".utf8))
        #expect(send(replacing(signed, "Content-Digest") { _ in otherDigest }, body) == 401, "digest")
        let wrongKey = try HTTPMessageSigner(keyID: Samples.keyID, secret: Array("not the secret".utf8))
            .sign(targetURI: url, body: body, idempotencyKey: batch.id, created: now).fields
        #expect(send(wrongKey, body) == 401, "key")
        #expect(send(replacing(signed, "Idempotency-Key") { _ in Batcher.uuidV4() }, body) == 401, "idempotency key")
        #expect(send(replacing(signed, "Signature-Input") { $0.replacingOccurrences(of: "created=\(now)", with: "created=\(now - 1)") }, body) == 401, "created")
        let old = try signer.sign(targetURI: url, body: body, idempotencyKey: batch.id, created: now - 600).fields
        #expect(send(old, body) == 401, "created 10 minutes ago, correctly signed")
        #expect(send(signed, body) == 202, "original")
        #expect(send(signed, body) == 200, "replay: duplicate")

        let s = try await receiver.state()
        #expect(s.rejected.count == 6)
        #expect(s.rejected[0].contains("Content-Digest does not match"), "\(s.rejected[0])")
        #expect(s.accepted == 1 && s.duplicates == 1)
        #expect(try Self.received(s) == [batch])
    }

    /// The receiver is down while batches keep being spooled, then comes up:
    /// every batch arrives once, in order.
    @Test func outageThenRecovery() async throws {
        let (dir, receiver, spool, forwarder) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await receiver.down()
        forwarder.start()
        var batches: [Batch] = []
        for n in 1...20 {
            let b = Samples.batch(n)
            batches.append(b)
            try spool.commit(batches: [b], state: ["cursor": Array(String(n).utf8)])
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await receiver.state().requests == 0)
        #expect(forwarder.stats.batchesRetried.load(ordering: .relaxed) > 0)
        try await receiver.up()
        let s = try await receiver.wait { $0.accepted >= 20 }
        #expect(s.batchIDs == batches.map(\.id))
        #expect(s.accepted == 20)
        #expect(try Self.received(s) == batches)
        #expect(await forwarder.drain(grace: .seconds(5)) == 0)
    }

    /// 503 with `Retry-After` (an HTTP-date, then seconds) is retried; the batch arrives once.
    @Test func serviceUnavailableIsRetried() async throws {
        let (dir, receiver, spool, forwarder) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let date = Date().addingTimeInterval(1)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        try await receiver.mode("503", count: 2, retryAfter: f.string(from: date))
        let batch = Samples.batch(1)
        try spool.commit(batches: [batch], state: [:])
        forwarder.start()
        let s = try await receiver.wait { $0.accepted >= 1 }
        #expect(s.batchIDs == [batch.id])
        #expect(s.requests == 3)
        #expect(forwarder.stats.batchesRetried.load(ordering: .relaxed) == 2)
        #expect(await forwarder.drain(grace: .seconds(5)) == 0)
    }

    @Test func retryAfterFormats() {
        let now = 1_732_900_000.0
        #expect(HTTPPoster.retryAfterSeconds("120", now: now) == 120)
        // 1_732_900_000 = Fri, 29 Nov 2024 17:06:40 GMT; RFC 9110 §5.6.7's three formats.
        #expect(HTTPPoster.retryAfterSeconds("Fri, 29 Nov 2024 17:07:10 GMT", now: now) == 30)
        #expect(HTTPPoster.retryAfterSeconds("Friday, 29-Nov-24 17:07:10 GMT", now: now) == 30)
        #expect(HTTPPoster.retryAfterSeconds("Fri Nov 29 17:07:10 2024", now: now) == 30)
        #expect(HTTPPoster.retryAfterSeconds("Fri, 29 Nov 2024 17:00:00 GMT", now: now) == 0)
        #expect(HTTPPoster.retryAfterSeconds("soon", now: now) == nil)
    }

    @Test func backoffIsFullJitterAndCapped() {
        for failures in 1...20 {
            let ceiling = min(5.0, 0.1 * pow(2, Double(failures - 1)))
            for _ in 0..<50 {
                let d = Backoff.delay(failures: failures, initial: 0.1, cap: 5)
                #expect(d >= 0 && d <= ceiling)
            }
        }
    }

    /// A 400 with a problem document: that batch is dead-lettered with the
    /// server's detail, the later ones still go.
    @Test func badRequestIsDeadLettered() async throws {
        let (dir, receiver, spool, forwarder) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await receiver.mode("400", count: 1)
        let batches = (1...3).map { Samples.batch($0) }
        try spool.commit(batches: batches, state: [:])
        forwarder.start()
        let s = try await receiver.wait { $0.accepted >= 2 }
        #expect(s.batchIDs == batches[1...].map(\.id))
        #expect(await forwarder.drain(grace: .seconds(5)) == 0)
        let dead = try spool.deadLetters()
        #expect(dead.map(\.id) == [batches[0].id])
        #expect(dead.first?.status == 400)
        #expect(dead.first?.problem == "400 Bad Request: batch refused by the test receiver")
        #expect(forwarder.stats.batchesDeadLettered.load(ordering: .relaxed) == 1)
    }

    /// Receiver down, spool limit 1 MB, 3 MB of batches: the spool stays within
    /// its bound, drops are counted, the forwarder keeps going, and after
    /// recovery the surviving (newest) batches arrive once, in order.
    @Test func spoolBoundDuringAnOutage() async throws {
        let limit: Int64 = 1_000_000
        let (dir, receiver, spool, forwarder) = try Self.setUp(maxBytes: limit)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await receiver.down()
        forwarder.start()
        var ids: [String] = []
        for n in 1...100 {
            let b = Samples.batch(n, points: 4, padding: 10_000)
            ids.append(b.id)
            try spool.commit(batches: [b], state: ["cursor": Array(String(n).utf8)])
            #expect(Spool.fileSize(spool.path) <= limit)
            #expect(Spool.fileSize(spool.path + "-wal") <= limit / 4)
        }
        let dropped = Int(forwarder.stats.batchesDropped.load(ordering: .relaxed))
        #expect(dropped > 0)
        let kept = try spool.batchIDs()
        #expect(dropped + kept.count == 100)
        try await receiver.up()
        let s = try await receiver.wait { $0.accepted >= kept.count }
        #expect(s.batchIDs == kept)
        #expect(kept == Array(ids.suffix(kept.count)))
        #expect(await forwarder.drain(grace: .seconds(5)) == 0)
    }

    /// drain sends what is spooled and stops; with the receiver down it gives
    /// up after the grace period and leaves the batches in the spool.
    @Test func drainSendsOrGivesUp() async throws {
        let (dir, receiver, spool, forwarder) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let batches = (1...4).map { Samples.batch($0) }
        try spool.commit(batches: batches, state: [:])
        #expect(await forwarder.drain(grace: .seconds(10)) == 0)
        #expect(try await receiver.state().batchIDs == batches.map(\.id))

        // A second forwarder over the same spool, receiver down.
        try await receiver.down()
        try spool.commit(batches: [Samples.batch(9)], state: [:])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let second = try Forwarder(configuration: forwarder.configuration, spool: spool, logger: logger)
        #expect(await second.drain(grace: .milliseconds(500)) == 1)
    }

    /// A drain whose grace runs out ends the request in flight: the server
    /// hangs for 120 s before accepting, the request timeout is 300 s, the
    /// grace 1 s — the batch stays spooled (it would be delivered, and
    /// counted as sent, had drain waited for the answer).
    @Test func drainAbortsARequestInFlight() async throws {
        let (dir, receiver, spool, forwarder) = try Self.setUp(requestTimeout: 300)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await receiver.mode("hang", count: 1, hang: 120)
        try spool.commit(batches: [Samples.batch(1)], state: [:])
        forwarder.start()
        _ = try await receiver.wait { $0.requests >= 1 }
        #expect(await forwarder.drain(grace: .seconds(1)) == 1)
        #expect(forwarder.stats.batchesSent.load(ordering: .relaxed) == 0)
    }

    /// HTTPS with TLS verification on (the default): delivered when the CA
    /// file is configured; refused (and retried, nothing reaches the server's
    /// handler) when the self-signed certificate is not trusted.
    @Test func tlsIsVerified() async throws {
        do {
            let (dir, receiver, spool, forwarder) = try Self.setUp(tls: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect(forwarder.configuration.verifyTLS && forwarder.configuration.batchesURL.hasPrefix("https://"))
            let batch = Samples.batch(1)
            try spool.commit(batches: [batch], state: [:])
            forwarder.start()
            let s = try await receiver.wait { $0.accepted >= 1 }
            #expect(s.batchIDs == [batch.id])
            #expect(await forwarder.drain(grace: .seconds(5)) == 0)
        }
        do {
            let (dir, receiver, spool, forwarder) = try Self.setUp(tls: true, trustReceiver: false)
            defer { try? FileManager.default.removeItem(at: dir) }
            try spool.commit(batches: [Samples.batch(1)], state: [:])
            forwarder.start()
            for _ in 0..<400 where forwarder.stats.batchesRetried.load(ordering: .relaxed) < 3 {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(forwarder.stats.batchesRetried.load(ordering: .relaxed) >= 3)
            #expect(try await receiver.state().requests == 0)
            await forwarder.stop()
            #expect(try spool.count() == 1)
        }
    }

    @Test func configurationErrorsNameTheKey() throws {
        let dir = try makeTempDirectory("forwarder-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try Samples.configuration(dir, ingestURL: "http://127.0.0.1:9")
        let spool = try Spool(path: c.spoolPath, maxBytes: 1 << 20)
        c.apiKeyFile = dir.appendingPathComponent("missing").path
        #expect(throws: DeliveryError.self) { try Forwarder(configuration: c, spool: spool) }
        try "\n".write(toFile: c.apiKeyFile, atomically: true, encoding: .utf8)
        do {
            _ = try Forwarder(configuration: c, spool: spool)
            Issue.record("an empty key file was accepted")
        } catch {
            #expect(error.code == .configuration && error.message.contains("CLOWDER_METRICS_API_KEY_FILE"))
        }
        c = try Samples.configuration(dir, ingestURL: "ftp://x")
        #expect(throws: DeliveryError.self) { try Forwarder(configuration: c, spool: spool) }
        #expect(DeliveryConfiguration(ingestURL: "https://i.example.org//", apiKeyID: "a", apiKeyFile: "f", spoolPath: "s").batchesURL
            == "https://i.example.org/v1/batches")
    }
}
