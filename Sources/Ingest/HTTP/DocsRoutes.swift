import HTTPTypes
import Hummingbird

#if canImport(Glibc)
import Glibc
#endif

/// `GET /openapi.yaml` (the spec this server was generated from, embedded at
/// build time) and `GET /docs` (Swagger UI loading that spec).
///
/// Swagger UI's files come from a copy installed on this host, never from a
/// CDN: `CLOWDER_INGEST_SWAGGER_UI_DIR` names the folder holding
/// `swagger-ui-bundle.js` and `swagger-ui.css` (PyPI `swagger-ui-py` 25.7.1,
/// which ships Swagger UI 5.24.2: `<site-packages>/swagger_ui/static`;
/// `scripts/install-deps.sh` and the ingest's Dockerfile install it). The
/// files are read once at start; `/docs/swagger-ui-bundle.js` and
/// `/docs/swagger-ui.css` serve them. Without the setting, or when a file is
/// missing, `/docs` answers 404 with a problem document saying what to install
/// and set.
enum DocsRoutes {
    /// The spec's bytes (`Sources/Ingest/openapi.yaml`).
    static var spec: [UInt8] { PackageResources.openapi_yaml }

    /// The files served from the Swagger UI folder, with their content types.
    static let assets = [("swagger-ui-bundle.js", "text/javascript; charset=utf-8"), ("swagger-ui.css", "text/css; charset=utf-8")]

    static let page = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Clowder Metrics ingest API</title>
          <link rel="stylesheet" href="/docs/swagger-ui.css">
        </head>
        <body>
          <div id="swagger-ui"></div>
          <script src="/docs/swagger-ui-bundle.js"></script>
          <script>
            window.onload = () => { window.ui = SwaggerUIBundle({ url: "/openapi.yaml", dom_id: "#swagger-ui" }); };
          </script>
        </body>
        </html>
        """

    /// Why Swagger UI cannot be served, or nil with the files' bytes.
    static func load(_ directory: String?) -> (files: [String: [UInt8]], missing: String?) {
        guard let directory else {
            return ([:], "Swagger UI is not installed for this server: set CLOWDER_INGEST_SWAGGER_UI_DIR to a folder holding swagger-ui-bundle.js and swagger-ui.css (pip install swagger-ui-py==25.7.1, then <site-packages>/swagger_ui/static)")
        }
        var files: [String: [UInt8]] = [:]
        for (name, _) in assets {
            let path = directory + "/" + name
            guard let bytes = try? KeyStore.read(path), !bytes.isEmpty else {
                return ([:], "CLOWDER_INGEST_SWAGGER_UI_DIR=\(directory) has no \(name) (pip install swagger-ui-py==25.7.1: <site-packages>/swagger_ui/static)")
            }
            files[name] = bytes
        }
        return (files, nil)
    }

    static func add<Context: RequestContext>(to router: Router<Context>, swaggerUI directory: String?) {
        router.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: spec)))
        }
        let (files, missing) = load(directory)
        @Sendable func notInstalled(_ path: String) -> Response {
            let p = Problem(status: 404, name: "docs-not-installed", title: "Swagger UI is not installed on this server", detail: missing ?? "")
            return Response(
                status: .notFound, headers: [.contentType: "application/problem+json"],
                body: .init(byteBuffer: ByteBuffer(bytes: p.json(instance: path))))
        }
        router.get("/docs") { _, _ in
            guard missing == nil else { return notInstalled("/docs") }
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", HTTPField.Name("Content-Security-Policy")!: "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        for (name, type) in assets {
            router.get("/docs/\(name)") { _, _ in
                guard let bytes = files[name] else { return notInstalled("/docs/\(name)") }
                return Response(
                    status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=86400"],
                    body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
    }
}
