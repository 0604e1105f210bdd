package import OpenAPIRuntime

/// The generated server's `APIProtocol`: `getHealth` and `getMetrics` are
/// served here; `postBatch` and `postEvents` are answered by
/// ``IngestMiddleware`` over the raw body before the generated decoding runs,
/// so their methods here only answer if that middleware is not installed.
struct IngestAPI: APIProtocol {
    let service: IngestService

    func getHealth(_ input: Operations.getHealth.Input) async throws -> Operations.getHealth.Output {
        // Up or down only: no broker user, address or error text for whoever asks.
        let s = service.destination.status
        let health = Components.Schemas.Health(status: s.available ? .ok : .unavailable)
        return s.available ? .ok(.init(body: .json(health))) : .serviceUnavailable(.init(body: .json(health)))
    }

    func getMetrics(_ input: Operations.getMetrics.Input) async throws -> Operations.getMetrics.Output {
        .ok(.init(body: .plainText(HTTPBody(service.metrics.render(destination: service.destination.status)))))
    }

    func postBatch(_ input: Operations.postBatch.Input) async throws -> Operations.postBatch.Output {
        .undocumented(statusCode: 500, UndocumentedPayload())
    }

    func postEvents(_ input: Operations.postEvents.Input) async throws -> Operations.postEvents.Output {
        .undocumented(statusCode: 500, UndocumentedPayload())
    }
}
