import Broker
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ingest
import MetricsModel
import SystemSupport
import NIOCore
import Testing

/// A running clowder-ingest on a free loopback port (port 0), with its own
/// keys file, de-duplication database, exchange and a durable queue bound to
/// it, plus a signed HTTP client. Stop it with ``stop()``.
final class IngestHarness: @unchecked Sendable {
    /// HMAC secret of `agent-1` (batches, events).
    static let agentSecret = Array("agent-1-secret-0123456789abcdef".utf8)
    /// HMAC secret of `events-only` (events).
    static let eventsOnlySecret = Array("events-only-secret-0123456789ab".utf8)
    /// The X-API-Key of `clowder` (events); the keys file holds only its SHA-256.
    static let clowderAPIKey = "clowder-sink-service-key-7f3a"

    let dir: URL
    let configuration: IngestConfiguration
    let server: IngestServer
    let port: Int
    let exchange: String
    let queue: String
    private let task: Task<Void, any Error>

    /// - Parameters:
    ///   - broker: publish to the test RabbitMQ (else the local journal).
    ///   - tweak: changes to the configuration before start.
    ///   - extraKeys: more lines for the keys file.
    init(broker: Bool = true, extraKeys: String = "", tweak: (inout IngestConfiguration) -> Void = { _ in }) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-ingest-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let keys = dir.appendingPathComponent("keys")
        let clowderHash = Self.sha256Hex(Self.clowderAPIKey)
        try """
        # keyid      kinds            credential
        agent-1      batches,events   hmac:base64:\(Data(Self.agentSecret).base64EncodedString())
        events-only  events           hmac:text:\(String(decoding: Self.eventsOnlySecret, as: UTF8.self))
        clowder      events           sha256:\(clowderHash)
        \(extraKeys)
        """.write(to: keys, atomically: true, encoding: .utf8)

        exchange = TestBroker.unique("ingest.x")
        queue = TestBroker.unique("ingest.q")
        var c = IngestConfiguration()
        c.host = "127.0.0.1"
        c.port = 0
        c.keysFile = keys.path
        c.dedupePath = dir.appendingPathComponent("dedupe.db").path
        c.journalPath = dir.appendingPathComponent("journal.db").path
        c.exchange = exchange
        c.rateLimit = 0
        c.retryAfter = 1
        c.swaggerUIDirectory = Self.swaggerUIDirectory
        if broker { c.brokerURL = try TestBroker.url }
        c.status.path = dir.appendingPathComponent("status.db").path
        c.status.queue = exchange + ".status"
        tweak(&c)
        configuration = c

        if broker {
            // The queue first, so nothing published is missed; durable so it survives stop_app.
            let (ex, q) = (exchange, queue)
            try await TestBroker.withConnection { conn in
                try conn.declareExchange(ExchangeDeclaration(name: ex))
                try conn.declareQueue(QueueDeclaration(name: q, durable: true))
                try conn.bindQueue(q, exchange: ex)
            }
        }

        server = try IngestServer(configuration: c)
        let (stream, cont) = AsyncStream.makeStream(of: Int.self)
        let app = try server.application { port in cont.yield(port) }
        task = Task { try await app.run() }
        var it = stream.makeAsyncIterator()
        guard let p = await it.next() else { throw HarnessError("the server did not start") }
        port = p
        if let publisher = server.publisher {
            let ok = await publisher.waitUntilConnected(timeout: 60)
            #expect(ok, "publisher state: \(publisher.state)")
        }
    }

    /// Stops the server and deletes the exchange, queue and files.
    func stop() async {
        task.cancel()
        _ = try? await task.value
        if let p = server.publisher { await p.shutdown() }
        if configuration.brokerURL != nil {
            await TestBroker.cleanUp(queues: [queue] + (configuration.status.enabled ? [exchange + ".status"] : []), exchanges: [exchange])
        }
        try? FileManager.default.removeItem(at: dir)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Swagger UI as scripts/install-deps.sh installs it (`.venv`, PyPI swagger-ui-py), or
    /// `CLOWDER_TEST_SWAGGER_UI_DIR`.
    static var swaggerUIDirectory: String? {
        if let d = ProcessInfo.processInfo.environment["CLOWDER_TEST_SWAGGER_UI_DIR"] { return d }
        let lib = SchemathesisTests.repo.appendingPathComponent(".venv/lib")
        for v in (try? FileManager.default.contentsOfDirectory(atPath: lib.path)) ?? [] where v.hasPrefix("python3") {
            let d = lib.appendingPathComponent(v).appendingPathComponent("site-packages/swagger_ui/static")
            if FileManager.default.fileExists(atPath: d.appendingPathComponent("swagger-ui-bundle.js").path) { return d.path }
        }
        return nil
    }

    struct HarnessError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// An HTTP answer.
    struct Reply {
        var status: Int
        var headers: HTTPFields
        var body: [UInt8]
        var json: JSONValue? { try? JSONValue(parsing: body) }
        var contentType: String? { headers[.contentType] }
        var retryAfter: Int? { headers[.retryAfter].flatMap { Int($0) } }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends one request on a fresh connection.
    func send(_ method: HTTPRequest.Method = .post, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws -> Reply {
        var fields = HTTPFields()
        for (n, v) in headers { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        let request = TestClient.Request(
            path, method: method, authority: "127.0.0.1:\(port)", headers: fields,
            body: method == .get ? nil : ByteBuffer(bytes: body))
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(request)
        }
        return Reply(status: response.head.status.code, headers: response.head.headerFields, body: response.body.map { Array(buffer: $0) } ?? [])
    }

    /// The headers of a signed request for `body`.
    func signedHeaders(
        path: String = "/v1/batches", body: [UInt8], id: String, keyID: String = "agent-1", secret: [UInt8] = IngestHarness.agentSecret,
        created: Int64 = Int64(Date().timeIntervalSince1970), gzip: Bool = false
    ) throws -> [(String, String)] {
        let signer = HTTPMessageSigner(keyID: keyID, secret: secret)
        let signed = try signer.sign(targetURI: baseURL + path, body: body, idempotencyKey: id, created: created)
        var h = signed.fields.map { ($0.name, $0.value) }
        h.append(("Content-Type", "application/json"))
        if gzip { h.append(("Content-Encoding", "gzip")) }
        return h
    }

    /// Posts a batch signed as the agent does (gzip body); retries on 503 as the agent does.
    func postBatch(_ batch: Batch, gzip: Bool = true, retry503: Bool = true) async throws -> Reply {
        let json = batch.jsonBytes
        let body = gzip ? try! Gzip.compress(json) : json
        while true {
            let r = try await send(.post, "/v1/batches", headers: try signedHeaders(body: body, id: batch.id, gzip: gzip), body: body)
            if r.status == 503 && retry503 {
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            return r
        }
    }

    /// Everything in the bound queue now.
    func drainQueue() async throws -> [BrokerDelivery] { try await TestBroker.drain(queue) }

    static func sha256Hex(_ s: String) -> String {
        // Computed by the system's sha256sum, independently of the code under test.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try? p.run()
        input.fileHandleForWriting.write(Data(s.utf8))
        try? input.fileHandleForWriting.close()
        p.waitUntilExit()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(out.prefix(64))
    }
}

/// Test batches: points with integer and double fields, tags, and Clowder events.
enum Batches {
    static let agent = AgentIdentity(id: "web-1", host: "web-1.example.org", region: "eu-west", version: "0.1.0")

    /// A minute boundary an hour ago, epoch ns: inside the ingest's accepted window (30 days back).
    static var baseNanoseconds: Int64 { (Int64(Date().timeIntervalSince1970) / 60 - 60) * 60_000_000_000 }

    static func make(
        points: Int, events: Int, seed: Int, created: Int64 = Int64(Date().timeIntervalSince1970 * 1000), agent: AgentIdentity = Batches.agent
    ) -> Batch {
        let t0: Int64 = baseNanoseconds + Int64(seed) * 60_000_000_000
        var ps: [Point] = []
        for i in 0..<points {
            let tags: [String: String] = ["agent": agent.id, "host": agent.host, "region": agent.region, "vhost": "clowder\(i % 3).example.org"]
            var fields: [String: JSONValue] = [:]
            fields["requests"] = .int(Int64(100 + i))
            fields["bytes_sent"] = .int(Int64(1_000_000 * i))
            fields["request_time_p99"] = .double(0.25 + Double(i) / 1000)
            fields["request_time_max"] = .double(2.0)
            ps.append(Point(measurement: "nginx_access", tags: tags, fields: fields, timeNanoseconds: t0 + Int64(i) * 1_000_000_000))
        }
        var es: [ClowderEvent] = []
        for i in 0..<events {
            var m: [String: JSONValue] = [:]
            m["category"] = .string("download")
            m["type"] = .string("file")
            m["resource_id"] = .string(String(format: "5f%022x", seed * 100 + i))
            m["created"] = .int(baseNanoseconds / 1_000_000 + Int64(i))
            m["source"] = .string("nginx")
            m["size"] = .int(1024 * Int64(i + 1))
            es.append(ClowderEvent(m))
        }
        return Batch(id: UUID().uuidString.lowercased(), created: created, agent: agent, points: ps, events: es)
    }

    /// The messages a batch must produce, by message id (`<key id>:<batch id>:<index>`), computed
    /// from the batch itself: points as the documented flat message, events unchanged, both with `key_id`.
    static func expectedMessages(_ b: Batch, keyID: String = "agent-1") -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        var i = 0
        for p in b.points {
            var m: [String: JSONValue] = [:]
            m["category"] = .string("metric")
            m["type"] = .string(p.measurement)
            m["created"] = .int(p.timeNanoseconds / 1_000_000)
            m["time_ns"] = .int(p.timeNanoseconds)
            m["tags"] = .object(p.tags.mapValues { JSONValue.string($0) })
            m["fields"] = .object(p.fields)
            m["agent"] = .string(b.agent.id)
            m["key_id"] = .string(keyID)
            out["\(keyID):\(b.id):\(i)"] = .object(m)
            i += 1
        }
        for e in b.events {
            var m = e.members
            m["key_id"] = .string(keyID)
            out["\(keyID):\(b.id):\(i)"] = .object(m)
            i += 1
        }
        return out
    }
}
