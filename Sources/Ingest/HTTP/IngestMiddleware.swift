import HTTPTypes
package import OpenAPIRuntime

/// Serves the two body-carrying operations, `postBatch` and `postEvents`,
/// over the raw request bytes, and counts every operation's answers.
///
/// The signature's `Content-Digest` must be checked against the exact bytes
/// received, and the body decoded with `MetricsModel`'s exact JSON (integers
/// and doubles kept apart), so these operations never reach the generated
/// `Codable` decoding: this OpenAPI middleware authenticates the request from
/// its headers (``IngestService/authenticate(_:method:path:authority:headers:client:)``;
/// a refusal is answered without reading the body), takes one of the
/// `CLOWDER_INGEST_MAX_BODIES_IN_FLIGHT` slots (503 when none is free), reads
/// the body (up to `CLOWDER_INGEST_MAX_BODY_BYTES`, else 413; within
/// `CLOWDER_INGEST_BODY_TIMEOUT`, else 408), hands it to ``IngestService/process(_:_:path:body:client:)``
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
            // A refused request's unread body is not drained: the connection closes after the answer.
            if reply.status >= 400 { fields[.connection] = "close" }
            return (HTTPResponse(status: .init(code: reply.status), headerFields: fields), HTTPBody(reply.body))
        }
        let tooLarge = IngestReply.problem(.tooLarge("the body is larger than \(limit) bytes"), path: instance)
        if let declared = request.headerFields[.contentLength].flatMap({ Int($0) }), declared > limit {
            return answer(tooLarge)
        }
        // Authenticate from the headers: nothing unauthenticated costs a body.
        let client = ClientAddress.current
        let headers = request.headerFields.map { ($0.name.rawName, $0.value) }
        let auth: Authenticated
        do {
            auth = try service.authenticate(
                kind, method: request.method.rawValue, path: path, authority: request.authority, headers: headers, client: client)
        } catch {
            return answer(error.reply)
        }
        // A bounded number of bodies in memory at once.
        guard service.bodies.acquire() else {
            return answer(
                IngestReply.problem(
                    .unavailable("too many requests are being received now", retryAfter: service.configuration.retryAfter), path: instance))
        }
        defer { service.bodies.release() }
        var bytes: [UInt8] = []
        let deadline = IngestService.monotonic() + service.configuration.bodyTimeout
        if let body {
            for try await chunk in body {
                if bytes.count + chunk.count > limit { return answer(tooLarge) }
                if IngestService.monotonic() > deadline {
                    return answer(IngestReply.problem(.timeout("the body did not arrive within \(Int(service.configuration.bodyTimeout)) s"), path: instance))
                }
                bytes.append(contentsOf: chunk)
            }
        }
        return answer(await service.process(kind, auth, path: path, body: bytes, client: client))
    }
}
