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

/// A request refused while authenticating, with its answer.
public struct RefusedRequest: Error, Sendable {
    /// The answer to send.
    public var reply: IngestReply
}

/// What authenticating a request's headers established.
public struct Authenticated: Sendable {
    /// The key that signed the request or whose `X-API-Key` it carried.
    public var key: IngestKey
    /// The `Idempotency-Key` (the batch id), covered by the signature when signed.
    public var idempotencyKey: String?
    /// Whether the request was signed (its body must match ``contentDigest``).
    public var signed: Bool
    /// The signed `Content-Digest` value.
    public var contentDigest: String?
    /// `identity` or `gzip`.
    public var encoding: String
}

/// The ingest's work for `POST /v1/batches` and `POST /v1/events`, independent
/// of HTTP plumbing, in two steps so that nothing unauthenticated costs a body:
///
/// 1. ``authenticate(_:method:path:authority:headers:client:)``, from the
///    headers alone: content coding, failed-authentication limit per client
///    address, RFC 9421 signature (without the body) or `X-API-Key`, the key's
///    kinds, its rate limit, `Idempotency-Key` (required for batches and for
///    signed events, and then covered by the signature);
/// 2. ``process(_:_:path:body:)``: `Content-Digest` against the bytes as
///    received, decompress, decode with `MetricsModel`'s exact JSON, validate
///    every value against ``IngestLimits`` and ``FieldSchema``, check the key's
///    agent, host and region bindings, de-duplicate per key id, stamp `key_id`
///    on every message, bound each message's size, publish with `message_id`
///    `<key id>:<batch id>:<index>`, record the id, answer.
///
/// Statuses: 202 accepted; 200 duplicate; 400 invalid body or header; 401
/// signature, digest, `created` outside the window, unknown or wrong key; 403
/// kind not allowed or writing as an agent, host or region the key is not bound
/// to; 413 too large; 415 unsupported encoding; 429 rate limit (per key, or per
/// client address after failed authentications); 503 destination unavailable
/// (all with `Retry-After` where it applies). Problem details name the header
/// or member at fault and never repeat a value the client sent.
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
    /// Failed authentications per client address.
    let authFailures: RateLimiter
    let logger: Logger
    let inFlight = Mutex<Set<String>>([])
    /// Request bodies held at once.
    public let bodies: BodySlots

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
        self.authFailures = RateLimiter(rate: configuration.authFailuresPerMinute / 60, burst: configuration.authFailuresPerMinute)
        self.bodies = BodySlots(capacity: configuration.maxBodiesInFlight)
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
    func targetURI(path: String, authority: String?, host: String?) -> String {
        if let base = configuration.publicURL { return base + path }
        return "http://" + (authority ?? host ?? "localhost") + path
    }

    /// Handles one request whose body was already read: ``authenticate(_:method:path:authority:headers:client:)``
    /// then ``process(_:_:path:body:)``.
    public func handle(_ kind: Kind, _ r: IngestRequest, client: String = "unknown") async -> IngestReply {
        do {
            let auth = try authenticate(kind, method: r.method, path: r.path, authority: r.authority, headers: r.headers, client: client)
            return await process(kind, auth, path: r.path, body: r.body, client: client)
        } catch {
            return error.reply
        }
    }

    /// Step 1, from the headers alone.
    /// - Parameter client: the client's address, for the failed-authentication limit.
    /// - Throws: ``RefusedRequest`` with the 401, 403, 400, 415 or 429 answer.
    public func authenticate(
        _ kind: Kind, method: String, path rawPath: String, authority: String?, headers: [(name: String, value: String)],
        client: String = "unknown"
    ) throws(RefusedRequest) -> Authenticated {
        let path = String(rawPath.prefix { $0 != "?" })
        func fail(_ p: Problem) -> RefusedRequest { RefusedRequest(reply: IngestReply.problem(p, path: path)) }
        let lookup = IngestRequest(method: method, path: rawPath, authority: authority, headers: headers, body: [])
        let now = Self.wallSeconds()
        let mono = Self.monotonic()

        // Content coding: known before anything is decoded.
        let encoding = (lookup.header("Content-Encoding") ?? "identity").trimmingSpaces.lowercased()
        guard encoding == "identity" || encoding == "gzip" || encoding.isEmpty else {
            throw fail(.unsupportedEncoding("Content-Encoding must be gzip or identity"))
        }

        // An address that failed too often is refused before any key is looked at.
        if let wait = authFailures.wait(client, now: mono) {
            throw fail(.rateLimited("too many failed authentications from this address", retryAfter: wait))
        }
        func unauthorized(_ p: Problem, _ why: String) -> RefusedRequest {
            _ = authFailures.take(client, now: mono)
            logger.info("refused authentication", metadata: ["path": "\(path)", "client": "\(client)", "error": "\(why)"])
            return fail(p)
        }

        // Authentication.
        let keyID: String
        var idempotencyKey: String?
        var contentDigest: String?
        let signed = lookup.header("Signature-Input") != nil || lookup.header("Signature") != nil
        if signed || kind == .batch {
            let keys = self.keys
            let verifier = HTTPMessageVerifier(allowedSkew: configuration.allowedSkew, requiredComponents: HTTPMessageSigner.coveredComponents) {
                keys.secret(for: $0)
            }
            do {
                let v = try verifier.verifyHeaders(
                    method: method, targetURI: targetURI(path: rawPath, authority: authority, host: lookup.header("Host")), headers: headers,
                    now: Int64(now))
                keyID = v.keyID
                idempotencyKey = v.idempotencyKey
                contentDigest = v.contentDigest
            } catch {
                throw unauthorized(.unauthorized(error), error.message)
            }
        } else if let presented = lookup.header("X-API-Key") {
            guard let key = keys.headerKey(matching: presented) else {
                throw unauthorized(.unauthenticated("the X-API-Key is not known"), "unknown X-API-Key")
            }
            keyID = key.id
            idempotencyKey = lookup.header("Idempotency-Key")?.trimmingSpaces
        } else {
            throw unauthorized(
                .unauthenticated("send an RFC 9421 signature (Signature-Input, Signature, Content-Digest) or an X-API-Key"), "no credentials")
        }
        let needed: IngestKey.Kind = kind == .batch ? .batches : .events
        guard let key = keys.key(keyID), key.kinds.contains(needed) else {
            throw fail(.forbidden("this key may not post \(needed.rawValue)"))
        }
        if let wait = limiter.take(keyID, now: mono) {
            throw fail(.rateLimited("this key is over \(configuration.rateLimit) requests/s", retryAfter: wait))
        }
        if let k = idempotencyKey, k.isEmpty || k.utf8.count > 200 || !k.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            throw fail(.invalidHeader("Idempotency-Key must have 1 to 200 visible ASCII bytes"))
        }
        return Authenticated(key: key, idempotencyKey: idempotencyKey, signed: signed || kind == .batch, contentDigest: contentDigest, encoding: encoding)
    }

    /// Step 2, with the body as received.
    public func process(_ kind: Kind, _ auth: Authenticated, path rawPath: String, body raw: [UInt8], client: String = "unknown") async -> IngestReply {
        let path = String(rawPath.prefix { $0 != "?" })
        func fail(_ p: Problem) -> IngestReply { IngestReply.problem(p, path: path) }
        let now = Self.wallSeconds()
        let keyID = auth.key.id
        let idempotencyKey = auth.idempotencyKey
        let limits = configuration.limits

        if auth.signed {
            do {
                try ContentDigest.verify(auth.contentDigest ?? "", body: raw)
            } catch {
                _ = authFailures.take(client, now: Self.monotonic())
                return fail(.unauthorized(error))
            }
        }

        // Decode.
        var body = raw
        if auth.encoding == "gzip" {
            do {
                body = try Gzip.inflate(body, limit: configuration.maxDecodedBytes)
            } catch {
                switch error {
                case .tooLarge(let limit): return fail(.tooLarge("the body inflates to more than \(limit) bytes"))
                case .invalid: return fail(.invalidBody("Content-Encoding gzip, but the body is not valid gzip"))
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
        let nowSeconds = Int64(now)
        var points: [Point] = []
        var events: [ClowderEvent] = []
        var agentID = ""
        let messagePrefix: String
        switch kind {
        case .batch:
            let batch: Batch
            do {
                batch = try BatchValidation.batch(json, limits: limits, now: nowSeconds)
            } catch {
                return fail(.invalidBody(error.message))
            }
            guard batch.id == idempotencyKey else {
                return fail(.invalidBody("batch.id is not the Idempotency-Key"))
            }
            do {
                try KeyBinding.check(batch, key: auth.key)
            } catch {
                return fail(.forbidden(error.message))
            }
            messagePrefix = batch.id
            points = batch.points
            events = batch.events
            agentID = batch.agent.id
        case .events:
            do {
                events = try BatchValidation.events(json, limits: limits, now: nowSeconds)
                try KeyBinding.check(events: events, key: auth.key, path: "")
            } catch {
                return fail(error.code == .invalid ? .invalidBody(error.message) : .forbidden(error.message))
            }
            messagePrefix = idempotencyKey ?? Self.randomID()
        }

        // De-duplication, per key id, after validation.
        if let id = idempotencyKey {
            do {
                if try dedupe.contains(id, keyID: keyID, now: now) {
                    metrics.duplicate()
                    return .json(200, ["duplicate": true, "batch_id": .string(id)])
                }
            } catch {
                logger.error("de-duplication lookup failed", metadata: ["error": "\(error)"])
                return fail(.unavailable("the de-duplication store failed", retryAfter: configuration.retryAfter))
            }
        }

        // Messages, each stamped with the key id and bounded in size: points several to a message
        // (MetricsMessage.pointsMessageBytes), each keeping its index in the batch; events one per message.
        var messages: [(id: String, body: [UInt8])]
        switch Self.pointMessages(points, batchID: "\(keyID):\(messagePrefix)", agentID: agentID, keyID: keyID,
                                  perMessage: configuration.pointsPerMessage, maxBytes: limits.maxMessageBytes) {
        case .success(let m): messages = m
        case .failure(let e): return fail(.invalidBody("points[\(e.index)] makes a message of more than \(limits.maxMessageBytes) bytes"))
        }
        messages.reserveCapacity(messages.count + events.count)
        let idPrefix = "\(keyID):\(messagePrefix):"
        for (i, e) in events.enumerated() {
            var members = e.members
            members["key_id"] = .string(keyID)
            let bytes = JSONValue.object(members).jsonBytes
            guard bytes.count <= limits.maxMessageBytes else {
                return fail(.invalidBody("\(kind == .batch ? "events" : "")[\(i)] makes a message of more than \(limits.maxMessageBytes) bytes"))
            }
            messages.append((idPrefix + String(points.count + i), bytes))
        }

        // Publish, once per key and id at a time.
        let flightID = idempotencyKey.map { "\(keyID):\($0)" }
        if let flightID {
            let busy = inFlight.withLock { !$0.insert(flightID).inserted }
            if busy {
                return fail(.unavailable("this Idempotency-Key is being published by another request", retryAfter: 1))
            }
        }
        defer { if let flightID { _ = inFlight.withLock { $0.remove(flightID) } } }
        let started = Self.monotonic()
        do {
            try await destination.write(messages: messages)
        } catch {
            metrics.publishFailed()
            logger.warning("publish failed", metadata: ["id": "\(messagePrefix)", "key": "\(keyID)", "error": "\(error)"])
            return fail(.unavailable("the messages could not be published now", retryAfter: configuration.retryAfter))
        }
        metrics.accepted(batch: kind == .batch, points: points.count, events: events.count, publishSeconds: Self.monotonic() - started)
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
                "accepted": true, "batch_id": .string(messagePrefix), "points": .int(Int64(points.count)),
                "events": .int(Int64(events.count)), "messages": .int(Int64(messages.count)),
            ])
    }

    /// The messages for a batch's points: with `perMessage` 1 one flat point message each
    /// (``MetricsMessage/json(for:agentID:keyID:)``, `message_id` `<batchID>:<index>`); otherwise points
    /// messages (``MetricsMessage/pointsMessageBytes(id:first:agentID:keyID:elements:)``) of at most
    /// `perMessage` points and `maxBytes` bytes, in order, `message_id` `<batchID>:<first>-<last>`.
    /// - Returns: the messages, or the index of a point too large for a message of its own.
    static func pointMessages(
        _ points: [Point], batchID: String, agentID: String, keyID: String, perMessage: Int, maxBytes: Int
    ) -> Result<[(id: String, body: [UInt8])], PointTooLarge> {
        var messages: [(id: String, body: [UInt8])] = []
        if perMessage <= 1 {
            messages.reserveCapacity(points.count)
            for (i, p) in points.enumerated() {
                let bytes = MetricsMessage.json(for: p, agentID: agentID, keyID: keyID).jsonBytes
                guard bytes.count <= maxBytes else { return .failure(PointTooLarge(index: i)) }
                messages.append(("\(batchID):\(i)", bytes))
            }
            return .success(messages)
        }
        messages.reserveCapacity(points.count / perMessage + 1)
        let envelope = MetricsMessage.pointsEnvelopeBytes(id: batchID, agentID: agentID, keyID: keyID)
        var elements: [[UInt8]] = []
        elements.reserveCapacity(min(perMessage, points.count))
        var size = envelope
        var first = 0
        func flush() {
            messages.append(
                (MetricsMessage.pointsMessageID(id: batchID, first: first, count: elements.count),
                 MetricsMessage.pointsMessageBytes(id: batchID, first: first, agentID: agentID, keyID: keyID, elements: elements)))
            first += elements.count
            elements.removeAll(keepingCapacity: true)
            size = envelope
        }
        for (i, p) in points.enumerated() {
            let e = MetricsMessage.elementBytes(for: p)
            guard envelope + e.count + 1 <= maxBytes else { return .failure(PointTooLarge(index: i)) }
            if !elements.isEmpty && (elements.count >= perMessage || size + e.count + 1 > maxBytes) { flush() }
            elements.append(e)
            size += e.count + 1
        }
        if !elements.isEmpty { flush() }
        return .success(messages)
    }

    /// A point whose message alone exceeds `CLOWDER_INGEST_MAX_MESSAGE_BYTES`.
    struct PointTooLarge: Error {
        let index: Int
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
