#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import MetricsModel
import Synchronization
import SystemSupport

/// Sends spooled batches to the ingest, one at a time, oldest first, on its
/// own thread: `POST <ingest>/v1/batches` over libcurl with the gzip body and
/// `Content-Type: application/json`, `Content-Encoding: gzip`,
/// `Content-Digest` (RFC 9530), `Idempotency-Key: <batch id>`,
/// `Signature-Input` and `Signature` (RFC 9421, ``HTTPMessageSigner``).
///
/// Outcomes:
/// - 2xx (a `"duplicate"` answer too): the batch is removed from the spool.
/// - 4xx other than 408 and 429: the batch moves to the dead-letter table,
///   logged once with the server's problem detail (RFC 9457), and the next batch goes.
/// - 408, 429, 5xx, any other status (a 3xx: curl does not follow redirects
///   for a POST here) and no response (network, TLS, timeout): retried after
///   `Retry-After` when the server sent one (seconds or HTTP-date, RFC 9110
///   §10.2.3, at most `retryAfterMax`), else after a random delay in
///   0…min(`retryMax`, `retryInitial`·2ⁿ⁻¹) for the n-th failure in a row
///   ("full jitter", https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
///
/// ```swift
/// let forwarder = try Forwarder(configuration: config, spool: spool, logger: logger)
/// forwarder.start()                       // wakes on every spool commit
/// …
/// let left = await forwarder.drain(grace: .seconds(config.shutdownGrace))   // at SIGTERM
/// ```
public final class Forwarder: Sendable {
    /// The settings in use.
    public let configuration: DeliveryConfiguration
    /// The spool read from.
    public let spool: Spool
    /// Counters (shared with the spool).
    public var stats: DeliveryStats { spool.stats }

    private let signer: HTTPMessageSigner
    private let logger: Logger
    private let wakeup = Wakeup()
    private let control = Mutex(Control())

    private struct Control {
        var started = false
        var running = false
        var stopRequested = false
        /// Monotonic deadline of a drain in progress (seconds, CLOCK_MONOTONIC).
        var drainDeadline: Double?
        /// Monotonic time before which no attempt is made (backoff).
        var notBefore: Double = 0
    }

    /// Reads the API key file and prepares the signer.
    /// - Throws: ``DeliveryError`` `.configuration` when the key file cannot be
    ///   read or is empty, or the ingest URL is not http(s).
    public init(configuration: DeliveryConfiguration, spool: Spool, logger: Logger = Logger(label: "clowder.delivery"))
        throws(DeliveryError)
    {
        let url = configuration.ingestURL
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw DeliveryError(.configuration, SettingValue.message(
                key: "CLOWDER_METRICS_INGEST_URL", value: url, expected: "an absolute http or https URL, e.g. http://host:port/path"))
        }
        let secret = try Self.readSecret(configuration.apiKeyFile)
        guard !configuration.apiKeyID.isEmpty else {
            throw DeliveryError(.configuration, "CLOWDER_METRICS_API_KEY_ID is empty: expected the key id the ingest knows")
        }
        self.configuration = configuration
        self.spool = spool
        self.logger = logger
        self.signer = HTTPMessageSigner(keyID: configuration.apiKeyID, secret: secret)
        spool.onCommit { [wakeup] in wakeup.signal() }
    }

    /// Starts the sending thread (once; later calls do nothing).
    public func start() {
        let first = control.withLock { c in
            defer { c.started = true; c.running = true }
            return !c.started
        }
        guard first else { return }
        spawnThread { [self] in run() }
    }

    /// Wakes the thread (the spool does this after each commit).
    public func wake() { wakeup.signal() }

    /// Tries to send everything spooled within `grace`, then stops the thread.
    /// A batch in backoff gets one immediate attempt. Starts the thread if needed.
    /// - Returns: batches still in the spool afterwards.
    public func drain(grace: Duration) async -> Int {
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) * 1e-18
        control.withLock {
            $0.drainDeadline = Self.monotonic() + seconds
            $0.notBefore = 0
        }
        start()
        wakeup.signal()
        await waitUntilStopped()
        return (try? spool.count()) ?? -1
    }

    /// Stops the thread without draining: after the request in flight, if any.
    public func stop() async {
        control.withLock { $0.stopRequested = true }
        wakeup.signal()
        await waitUntilStopped()
    }

    private func waitUntilStopped() async {
        while control.withLock({ $0.running }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: - The thread

    private func run() {
        var poster: HTTPPoster?
        var failures = 0  // consecutive failed attempts
        defer { control.withLock { $0.running = false } }
        while true {
            let (stop, deadline, notBefore) = control.withLock { ($0.stopRequested, $0.drainDeadline, $0.notBefore) }
            if stop { return }
            let now = Self.monotonic()
            if let deadline, now >= deadline { return }
            if now < notBefore {
                wakeup.wait(seconds: min(notBefore, deadline ?? .infinity) - now)
                continue
            }
            let batch: SpooledBatch?
            do {
                batch = try spool.oldest()
            } catch {
                logger.error("cannot read the spool", metadata: ["error": "\(error)"])
                control.withLock { $0.notBefore = Self.monotonic() + 1 }
                continue
            }
            guard let batch else {
                if deadline != nil { return }  // drained
                wakeup.wait(seconds: 60)
                continue
            }
            if poster == nil {
                do {
                    poster = try HTTPPoster(
                        caFile: configuration.caFile, verifyTLS: configuration.verifyTLS,
                        connectTimeout: configuration.connectTimeout)
                } catch {
                    logger.error("cannot set up libcurl", metadata: ["error": "\(error)"])
                    control.withLock { $0.notBefore = Self.monotonic() + 5 }
                    continue
                }
            }
            var timeout = configuration.requestTimeout
            if let deadline { timeout = max(0.5, min(timeout, deadline - Self.monotonic())) }
            let outcome = send(batch, with: poster!, timeout: timeout)
            handle(outcome, for: batch, failures: &failures)
        }
    }

    private func send(_ batch: SpooledBatch, with poster: HTTPPoster, timeout: Double) -> HTTPOutcome {
        let url = configuration.batchesURL
        let signed: SignedFields
        do {
            signed = try signer.sign(
                targetURI: url, body: batch.body, idempotencyKey: batch.id, created: Int64(Date().timeIntervalSince1970))
        } catch {
            return HTTPOutcome(status: 0, body: [], error: "cannot sign: \(error)")
        }
        let headers: [(name: String, value: String)] =
            [("Content-Type", "application/json"), ("Content-Encoding", "gzip")] + signed.fields
        // A stop, or a drain whose grace has run out, ends the request in flight.
        let shouldAbort = { [self] () -> Bool in
            control.withLock { c in c.stopRequested || (c.drainDeadline.map { Self.monotonic() >= $0 } ?? false) }
        }
        return poster.post(url: url, headers: headers, body: batch.body, timeout: timeout, shouldAbort: shouldAbort)
    }

    private func handle(_ outcome: HTTPOutcome, for batch: SpooledBatch, failures: inout Int) {
        let status = outcome.status
        switch status {
        case 200..<300:
            do { try spool.remove(batch) } catch { logger.error("cannot remove a sent batch", metadata: ["error": "\(error)"]) }
            stats.batchesSent.wrappingAdd(1, ordering: .relaxed)
            stats.lastSentMilliseconds.store(Batcher.nowMilliseconds(), ordering: .relaxed)
            if failures > 0 {
                logger.info("ingest reachable again", metadata: ["failed_attempts": "\(failures)"])
            }
            failures = 0
        case 400..<500 where status != 408 && status != 429:
            let problem = Self.describeProblem(outcome)
            do {
                try spool.deadLetter(batch, status: status, problem: problem)
            } catch {
                logger.error("cannot dead-letter a batch", metadata: ["error": "\(error)"])
            }
            stats.batchesDeadLettered.wrappingAdd(1, ordering: .relaxed)
            logger.error(
                "ingest refused a batch; moved to dead letters",
                metadata: ["batch": "\(batch.id)", "status": "\(status)", "problem": "\(problem)"])
        default:
            failures += 1
            stats.batchesRetried.wrappingAdd(1, ordering: .relaxed)
            let wall = Date().timeIntervalSince1970
            var delay: Double
            if let ra = outcome.retryAfter, let seconds = HTTPPoster.retryAfterSeconds(ra, now: wall) {
                delay = min(seconds, configuration.retryAfterMax)
            } else {
                delay = Backoff.delay(failures: failures, initial: configuration.retryInitial, cap: configuration.retryMax)
            }
            let reason = status == 0 ? (outcome.error ?? "no response") : "HTTP \(status)"
            let metadata: Logger.Metadata = [
                "batch": "\(batch.id)", "reason": "\(reason)", "retry_in_s": "\(delay)", "failures": "\(failures)",
            ]
            if failures == 1 {
                logger.warning("cannot deliver a batch; retrying", metadata: metadata)
            } else {
                logger.debug("retrying", metadata: metadata)
            }
            delay = max(delay, 0.001)
            control.withLock { $0.notBefore = Self.monotonic() + delay }
        }
    }

    /// The problem document (RFC 9457 §3: `type`, `title`, `status`, `detail`,
    /// `instance`) as one line, or the body's first 500 bytes when it is not one.
    static func describeProblem(_ outcome: HTTPOutcome) -> String {
        if let v = try? JSONValue(parsing: outcome.body), v.objectValue != nil {
            var parts: [String] = []
            if let t = v["title"]?.stringValue { parts.append(t) }
            if let d = v["detail"]?.stringValue { parts.append(d) }
            if let t = v["type"]?.stringValue, t != "about:blank" { parts.append("type \(t)") }
            if let i = v["instance"]?.stringValue { parts.append("instance \(i)") }
            if !parts.isEmpty { return "\(outcome.status) " + parts.joined(separator: ": ") }
        }
        let text = String(decoding: outcome.body.prefix(500), as: UTF8.self)
        return text.isEmpty ? "\(outcome.status) (empty body)" : "\(outcome.status) \(text)"
    }

    static func monotonic() -> Double {
        SystemClock.monotonicSeconds()
    }
}
