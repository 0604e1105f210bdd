import HTTPTypes
package import OpenAPIRuntime

/// Serves the two body-carrying operations, `postBatch` and `postEvents`,
/// over the raw request bytes, and counts every operation's answers.
///
/// The signature's `Content-Digest` must be checked against the exact bytes
/// received, and the body decoded with `MetricsModel`'s exact JSON (integers
/// and doubles kept apart), so these operations never reach the generated
/// `Codable` decoding: this OpenAPI middleware reads the body (up to
/// `CLOWDER_INGEST_MAX_BODY_BYTES`, else 413), hands it to ``IngestService``
/// and returns its answer. The routing, the other operations and their
/// responses are the generated server's.
struct IngestMiddleware: ServerMiddleware {
    let service: IngestService

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let kind: IngestService.Kind? =
            switch operationID {
            case "postBatch": .batch
            case "postEvents": .events
            default: nil
            }
        guard let kind else {
            do {
                let (response, responseBody) = try await next(request, body, metadata)
                service.metrics.request(operation: operationID, status: response.status.code)
                return (response, responseBody)
            } catch {
                service.metrics.request(operation: operationID, status: 500)
                throw error
            }
        }
        let path = request.path ?? "/"
        let instance = String(path.prefix { $0 != "?" })
        let limit = service.configuration.maxBodyBytes
        func answer(_ reply: IngestReply) -> (HTTPResponse, HTTPBody?) {
            service.metrics.request(operation: operationID, status: reply.status)
            var fields = HTTPFields()
            fields[.contentType] = reply.contentType
            if let retry = reply.retryAfter { fields[.retryAfter] = String(retry) }
            return (HTTPResponse(status: .init(code: reply.status), headerFields: fields), HTTPBody(reply.body))
        }
        let tooLarge = IngestReply.problem(.tooLarge("the body is larger than \(limit) bytes"), path: instance)
        if let declared = request.headerFields[.contentLength].flatMap({ Int($0) }), declared > limit {
            return answer(tooLarge)
        }
        var bytes: [UInt8] = []
        if let body {
            for try await chunk in body {
                if bytes.count + chunk.count > limit { return answer(tooLarge) }
                bytes.append(contentsOf: chunk)
            }
        }
        let r = IngestRequest(
            method: request.method.rawValue, path: path, authority: request.authority,
            headers: request.headerFields.map { ($0.name.rawName, $0.value) }, body: bytes)
        return answer(await service.handle(kind, r))
    }
}
