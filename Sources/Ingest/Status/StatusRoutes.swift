import HTTPTypes
import Hummingbird
import MetricsModel
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
enum StatusRoutes {
    static let csp = "default-src 'self'"

    static func add<Context: RequestContext>(to router: Router<Context>, store: StatusStore) {
        router.get("/status") { _, _ in
            try respond(store, type: "text/html; charset=utf-8") { ByteBuffer(string: StatusPage.html($0)) }
        }
        router.get("/status.json") { _, _ in
            try respond(store, type: "application/json") { ByteBuffer(bytes: $0.json.jsonBytes) }
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

    static func respond(_ store: StatusStore, type: String, _ body: (StatusSnapshot) -> ByteBuffer) throws -> Response {
        let snapshot: StatusSnapshot
        do {
            snapshot = try store.snapshot(nowMilliseconds: wallMilliseconds())
        } catch {
            throw HTTPError(.serviceUnavailable, message: "the status file \(store.path) cannot be read: \(error)")
        }
        return Response(status: .ok, headers: headers(type), body: .init(byteBuffer: body(snapshot)))
    }

    static func wallMilliseconds() -> Int64 {
        SystemClock.wallNanoseconds() / 1_000_000
    }
}
