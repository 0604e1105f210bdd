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

/// The connection state and stop handshake that ``BrokerPublisher`` and ``BrokerConsumer`` keep
/// under their lock, beside their own queues.
struct ClientLifecycle {
    var state: BrokerState = .connecting
    /// Shutdown was asked for: the thread leaves its loop.
    var stopping = false
    /// Callers of `shutdown()` waiting for the thread to end.
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Asks the thread to stop. Returns true when the client is already stopped (or was never
    /// started: then it is stopped now), and the caller resumes `c` at once; otherwise `c` waits
    /// for ``stopped()``.
    mutating func requestStop(_ c: CheckedContinuation<Void, Never>, started: Bool) -> Bool {
        stopping = true
        if case .stopped = state { return true }
        if !started {
            state = .stopped
            return true
        }
        waiters.append(c)
        return false
    }

    /// The thread has ended: the state becomes `stopped`; returns the waiters to resume (outside the lock).
    mutating func stopped() -> [CheckedContinuation<Void, Never>] {
        state = .stopped
        defer { waiters.removeAll() }
        return waiters
    }
}
