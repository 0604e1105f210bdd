import Synchronization

/// A token bucket per key (a key id, or a client address for failed
/// authentications): `rate` requests per second on average, bursts of up to
/// `burst`. A request over the limit is told how long to wait (the 429's
/// `Retry-After`, whole seconds rounded up). At most 100 000 buckets: beyond,
/// the full ones (which carry no state) are dropped first.
public final class RateLimiter: Sendable {
    /// Requests per second per key; 0 disables the limit.
    public let rate: Double
    /// Bucket size.
    public let burst: Double
    private let buckets = Mutex<[String: (tokens: Double, at: Double)]>([:])

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
    }

    /// Takes one token for `key` at time `now` (seconds, any monotonic origin).
    /// - Returns: nil when allowed, else the seconds to wait.
    public func take(_ key: String, now: Double) -> Int? {
        guard rate > 0 else { return nil }
        return buckets.withLock { b in
            var (tokens, at) = b[key] ?? (burst, now)
            tokens = min(burst, tokens + (now - at) * rate)
            at = now
            if tokens >= 1 {
                b[key] = (tokens - 1, at)
                return nil
            }
            b[key] = (tokens, at)
            if b.count > 100_000 { Self.evict(&b, now: now, rate: rate, burst: burst) }
            return max(1, Int(((1 - tokens) / rate).rounded(.up)))
        }
    }

    /// Whether `key` would be refused now, without taking a token.
    /// - Returns: nil when a token is available, else the seconds to wait.
    public func wait(_ key: String, now: Double) -> Int? {
        guard rate > 0 else { return nil }
        return buckets.withLock { b in
            guard let (tokens, at) = b[key] else { return nil }
            let t = min(burst, tokens + (now - at) * rate)
            return t >= 1 ? nil : max(1, Int(((1 - t) / rate).rounded(.up)))
        }
    }

    static func evict(_ b: inout [String: (tokens: Double, at: Double)], now: Double, rate: Double, burst: Double) {
        b = b.filter { min(burst, $0.value.tokens + (now - $0.value.at) * rate) < burst }
        if b.count > 100_000 { b.removeAll() }
    }
}
