import Hummingbird

/// `GET /openapi.yaml` (the spec this server was generated from, embedded at
/// build time) and `GET /docs` (Swagger UI loading that spec; the UI's assets
/// come from the unpkg CDN).
enum DocsRoutes {
    /// The spec's bytes (`Sources/Ingest/openapi.yaml`).
    static var spec: [UInt8] { PackageResources.openapi_yaml }

    static let page = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Clowder Metrics ingest API</title>
          <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
        </head>
        <body>
          <div id="swagger-ui"></div>
          <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js" crossorigin></script>
          <script>
            window.onload = () => { window.ui = SwaggerUIBundle({ url: "/openapi.yaml", dom_id: "#swagger-ui" }); };
          </script>
        </body>
        </html>
        """

    static func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: spec)))
        }
        router.get("/docs") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
    }
}
