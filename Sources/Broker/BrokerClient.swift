/// What ``BrokerPublisher`` and ``BrokerConsumer`` share: a connection to the
/// broker owned by a thread of their own, whose state callers may watch.
public protocol BrokerClient: AnyObject, Sendable {
    /// The connection state (for `/healthz` and the logs).
    var state: BrokerState { get }
    /// Starts the client's thread; it connects in the background, retrying with backoff. Idempotent.
    func start()
    /// Stops the thread and closes the connection; returns once it has stopped.
    func shutdown() async
}

extension BrokerClient {
    /// Waits until ``state`` is `connected`, checking every 20 ms for up to `timeout` seconds.
    /// - Returns: true when connected.
    public func waitUntilConnected(timeout: Double) async -> Bool {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if case .connected = state { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if case .connected = state { return true }
        return false
    }
}
