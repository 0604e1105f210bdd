/// Runs `body`, and gives up after `seconds`: the body's task is cancelled and
/// a retryable ``SinkError`` naming `what` is thrown. Used where a client would
/// otherwise wait for a long time (postgres-nio's pool keeps trying to connect
/// while a query waits for a connection).
/// - Throws: what `body` throws, or ``SinkError`` (retryable) on timeout.
func withDeadline<T: Sendable>(
    seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw SinkError.retryable("\(what): no answer within \(seconds) s")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
