import Logging
import MetricsModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One request to ``IngestService``, as received: the body bytes untouched.
public struct IngestRequest: Sendable {
    /// `POST`.
    public var method: String
    /// Path and query as received, e.g. `/v1/batches`.
    public var path: String
    /// `Host` (HTTP/1.1) or `:authority` (HTTP/2), when present.
    public var authority: String?
    /// Every header field line in order.
    public var headers: [(name: String, value: String)]
    /// The body exactly as received (still content-encoded).
    public var body: [UInt8]

    public init(method: String, path: String, authority: String?, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.authority = authority
        self.headers = headers
        self.body = body
    }

    /// The last value of a header (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last { $0.name.lowercased() == n }?.value
    }
}

/// The answer to one ``IngestRequest``.
public struct IngestReply: Sendable {
    /// HTTP status.
    public var status: Int
    /// `application/json` or `application/problem+json`.
    public var contentType: String
    /// JSON body.
    public var body: [UInt8]
    /// `Retry-After` seconds, for 429 and 503.
    public var retryAfter: Int?

    static func problem(_ p: Problem, path: String) -> IngestReply {
        IngestReply(status: p.status, contentType: "application/problem+json", body: p.json(instance: path), retryAfter: p.retryAfter)
    }

    static func json(_ status: Int, _ v: JSONValue) -> IngestReply {
        IngestReply(status: status, contentType: "application/json", body: v.jsonBytes, retryAfter: nil)
    }
}

/// The ingest's work for `POST /v1/batches` and `POST /v1/events`, independent
/// of HTTP plumbing: verify (RFC 9421 signature and RFC 9530 digest over the
/// bytes as received, or `X-API-Key`), rate-limit, de-duplicate on the batch
/// id, decompress, decode with `MetricsModel`'s exact JSON, publish each point
/// (as ``MetricsMessage``) and event (unchanged) with `message_id`
/// `<batch id>:<index>`, record the id, answer.
///
/// Statuses: 202 accepted; 200 duplicate; 400 invalid body or header; 401
/// signature, digest, `created` outside the window, unknown or wrong key; 403
/// kind not allowed; 413 too large; 415 unsupported encoding; 429 rate limit;
/// 503 destination unavailable (all with `Retry-After` where it applies).
public final class IngestService: Sendable {
    /// Settings.
    public let configuration: IngestConfiguration
    /// Accepted keys.
    public let keys: KeyStore
    /// Batch ids accepted.
    public let dedupe: DedupeStore
    /// Where messages go.
    public let destination: any MessageDestination
    /// Counters for `/metrics`.
    public let metrics: IngestMetrics
    let limiter: RateLimiter
    let logger: Logger
    let inFlight = Mutex<Set<String>>([])

    public init(
        configuration: IngestConfiguration, keys: KeyStore, dedupe: DedupeStore, destination: any MessageDestination,
        metrics: IngestMetrics = IngestMetrics(), logger: Logger = Logger(label: "clowder.ingest")
    ) {
        self.configuration = configuration
        self.keys = keys
        self.dedupe = dedupe
        self.destination = destination
        self.metrics = metrics
        self.limiter = RateLimiter(rate: configuration.rateLimit, burst: configuration.rateBurst)
        self.logger = logger
    }

    /// Which endpoint.
    public enum Kind: Sendable {
        /// `POST /v1/batches`.
        case batch
        /// `POST /v1/events`.
        case events
    }

    static func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The RFC 9421 `@target-uri` of a request: the configured public URL's
    /// scheme and authority (behind a proxy), else `http://<Host>`, plus the path.
    func targetURI(_ r: IngestRequest) -> String {
        if let base = configuration.publicURL { return base + r.path }
        return "http://" + (r.authority ?? r.header("Host") ?? "localhost") + r.path
    }

    /// Handles one request.
    public func handle(_ kind: Kind, _ r: IngestRequest) async -> IngestReply {
        let path = String(r.path.prefix { $0 != "?" })
        func fail(_ p: Problem) -> IngestReply { IngestReply.problem(p, path: path) }
        let now = Self.wallSeconds()

        // Content coding: known before anything is decoded.
        let encoding = (r.header("Content-Encoding") ?? "identity").trimmingSpaces.lowercased()
        guard encoding == "identity" || encoding == "gzip" || encoding.isEmpty else {
            return fail(.unsupportedEncoding("Content-Encoding '\(encoding)' is not supported; send gzip or identity"))
        }

        // Authentication.
        let keyID: String
        var idempotencyKey: String?
        let signed = r.header("Signature-Input") != nil || r.header("Signature") != nil
        if signed || kind == .batch {
            let required =
                kind == .batch ? HTTPMessageSigner.coveredComponents : ["@method", "@target-uri", "content-digest"]
            let keys = self.keys
            let verifier = HTTPMessageVerifier(allowedSkew: configuration.allowedSkew, requiredComponents: required) {
                keys.secret(for: $0)
            }
            do {
                let v = try verifier.verify(
                    method: r.method, targetURI: targetURI(r), headers: r.headers, body: r.body, now: Int64(now))
                keyID = v.keyID
                idempotencyKey = v.idempotencyKey
            } catch {
                logger.info("refused signature", metadata: ["path": "\(path)", "error": "\(error)"])
                return fail(.unauthorized(error))
            }
        } else if let presented = r.header("X-API-Key") {
            guard let key = keys.headerKey(matching: presented) else {
                return fail(.unauthenticated("the X-API-Key is not known"))
            }
            keyID = key.id
            idempotencyKey = r.header("Idempotency-Key")?.trimmingSpaces
        } else {
            return fail(.unauthenticated("send an RFC 9421 signature (Signature-Input, Signature, Content-Digest) or an X-API-Key"))
        }
        let needed: IngestKey.Kind = kind == .batch ? .batches : .events
        guard keys.key(keyID)?.kinds.contains(needed) == true else {
            return fail(.forbidden("key '\(keyID)' may not post \(needed.rawValue)"))
        }
        if let wait = limiter.take(keyID, now: Self.monotonic()) {
            return fail(.rateLimited("key '\(keyID)' is over \(configuration.rateLimit) requests/s", retryAfter: wait))
        }
        if kind == .batch && (idempotencyKey ?? "").isEmpty {
            return fail(.invalidHeader("Idempotency-Key (the batch id) is required"))
        }
        if let k = idempotencyKey, k.isEmpty || k.utf8.count > 200 {
            return fail(.invalidHeader("Idempotency-Key must have 1 to 200 bytes"))
        }

        // De-duplication.
        if let id = idempotencyKey {
            do {
                if try dedupe.contains(id, now: now) {
                    metrics.duplicate()
                    return .json(200, ["duplicate": true, "batch_id": .string(id)])
                }
            } catch {
                logger.error("de-duplication lookup failed", metadata: ["error": "\(error)"])
                return fail(.unavailable("de-duplication store: \(error)", retryAfter: configuration.retryAfter))
            }
        }

        // Decode.
        var body = r.body
        if encoding == "gzip" {
            do {
                body = try Gzip.inflate(body, limit: configuration.maxDecodedBytes)
            } catch {
                switch error {
                case .tooLarge(let limit): return fail(.tooLarge("the body inflates to more than \(limit) bytes"))
                case .invalid(let why): return fail(.invalidBody("Content-Encoding gzip, but the body is not valid gzip: \(why)"))
                }
            }
        } else if body.count > configuration.maxDecodedBytes {
            return fail(.tooLarge("the body has more than \(configuration.maxDecodedBytes) bytes"))
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: body)
        } catch {
            return fail(.invalidBody("\(error)"))
        }
        var messages: [(id: String, body: [UInt8])] = []
        var pointCount = 0, eventCount = 0
        let messagePrefix: String
        switch kind {
        case .batch:
            let batch: Batch
            do {
                batch = try BatchValidation.batch(json)
            } catch {
                return fail(.invalidBody(error.message))
            }
            guard batch.id == idempotencyKey else {
                return fail(.invalidBody("batch.id '\(batch.id)' is not the Idempotency-Key '\(idempotencyKey ?? "")'"))
            }
            messagePrefix = batch.id
            messages.reserveCapacity(batch.points.count + batch.events.count)
            for p in batch.points {
                messages.append(("\(messagePrefix):\(messages.count)", MetricsMessage.json(for: p, agentID: batch.agent.id).jsonBytes))
            }
            for e in batch.events { messages.append(("\(messagePrefix):\(messages.count)", e.json.jsonBytes)) }
            pointCount = batch.points.count
            eventCount = batch.events.count
        case .events:
            let events: [ClowderEvent]
            do {
                events = try BatchValidation.events(json)
            } catch {
                return fail(.invalidBody(error.message))
            }
            messagePrefix = idempotencyKey ?? Self.randomID()
            for e in events { messages.append(("\(messagePrefix):\(messages.count)", e.json.jsonBytes)) }
            eventCount = events.count
        }

        // Publish, once per id at a time.
        if let id = idempotencyKey {
            let busy = inFlight.withLock { !$0.insert(id).inserted }
            if busy {
                return fail(.unavailable("batch \(id) is being published by another request", retryAfter: 1))
            }
        }
        defer { if let id = idempotencyKey { _ = inFlight.withLock { $0.remove(id) } } }
        let started = Self.monotonic()
        do {
            try await destination.write(messages: messages)
        } catch {
            metrics.publishFailed()
            logger.warning("publish failed", metadata: ["id": "\(messagePrefix)", "error": "\(error)"])
            return fail(.unavailable("\(error)", retryAfter: configuration.retryAfter))
        }
        metrics.accepted(batch: kind == .batch, points: pointCount, events: eventCount, publishSeconds: Self.monotonic() - started)
        if let id = idempotencyKey {
            do {
                try dedupe.record(id, keyID: keyID, messages: messages.count, now: now)
            } catch {
                logger.error("de-duplication insert failed", metadata: ["error": "\(error)"])
            }
        }
        return .json(
            202,
            [
                "accepted": true, "batch_id": .string(messagePrefix), "points": .int(Int64(pointCount)),
                "events": .int(Int64(eventCount)), "messages": .int(Int64(messages.count)),
            ])
    }

    static func randomID() -> String {
        var g = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for i in 0..<32 {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(g.next() % 16)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
