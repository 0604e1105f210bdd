import HTTPTypes
import Hummingbird
import MetricsModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// `GET /status` (HTML, ``StatusPage``), `GET /status.json` (``StatusSnapshot/json``)
/// and `GET /status.css`, from the replica's ``StatusStore``.
///
/// Every answer carries `Content-Security-Policy: default-src 'self'` (a browser
/// loads nothing from another host, and runs no inline script or style),
/// `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`. A status
/// file that cannot be read answers 503 naming the file.
///
/// Both answers are rendered at most once per ``StatusCache/ttlMilliseconds``
/// (2 s) and reused meanwhile: they are unauthenticated, and with the 1 000
/// targets an events key may fill the store with, one rendering costs seconds
/// of CPU and megabytes (the attack trial in `Benchmarks/attack`, probe V6, saw
/// `/healthz` take 5 s while six clients fetched `/status` in a loop).
enum StatusRoutes {
    static let csp = "default-src 'self'"

    static func add<Context: RequestContext>(to router: Router<Context>, store: StatusStore) {
        let cache = StatusCache()
        router.get("/status") { _, _ in
            try respond(store, type: "text/html; charset=utf-8", cache: cache, kind: "html") { ByteBuffer(string: StatusPage.html($0)) }
        }
        router.get("/status.json") { _, _ in
            try respond(store, type: "application/json", cache: cache, kind: "json") { ByteBuffer(bytes: $0.json.jsonBytes) }
        }
        router.get("/status.css") { _, _ in
            Response(status: .ok, headers: headers("text/css; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: StatusPage.css)))
        }
    }

    static func headers(_ type: String) -> HTTPFields {
        var h = HTTPFields()
        h[.contentType] = type
        h[.contentSecurityPolicy] = csp
        h[.cacheControl] = "no-store"
        h[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return h
    }

    static func respond(
        _ store: StatusStore, type: String, cache: StatusCache, kind: String, _ body: (StatusSnapshot) -> ByteBuffer
    ) throws -> Response {
        let now = wallMilliseconds()
        let bytes = try cache.body(kind, now: now) { () throws(HTTPError) -> ByteBuffer in
            do {
                return body(try store.snapshot(nowMilliseconds: now))
            } catch {
                throw HTTPError(.serviceUnavailable, message: "the status file \(store.path) cannot be read: \(error)")
            }
        }
        return Response(status: .ok, headers: headers(type), body: .init(byteBuffer: bytes))
    }

    static func wallMilliseconds() -> Int64 {
        SystemClock.wallNanoseconds() / 1_000_000
    }
}

/// The last rendering of each status answer, reused for ``ttlMilliseconds``.
/// One rendering at a time: a request that finds the entry stale renders it
/// while the others wait for that rendering instead of starting their own.
final class StatusCache: Sendable {
    /// How long a rendering is reused, milliseconds.
    let ttlMilliseconds: Int64
    private let entries = Mutex<[String: (at: Int64, body: ByteBuffer)]>([:])

    init(ttlMilliseconds: Int64 = 2000) { self.ttlMilliseconds = ttlMilliseconds }

    /// The cached body of `kind`, or `render()`'s, kept from `now` (epoch ms; a clock stepped back renders anew).
    /// - Throws: what `render` throws (nothing is cached then).
    func body(_ kind: String, now: Int64, render: () throws(HTTPError) -> ByteBuffer) throws(HTTPError) -> ByteBuffer {
        try entries.withLock { e throws(HTTPError) -> ByteBuffer in
            if let c = e[kind], now >= c.at, now - c.at < ttlMilliseconds { return c.body }
            let b = try render()
            e[kind] = (now, b)
            return b
        }
    }
}
