/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
/// Jitter", https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): the
/// n-th failure in a row (n ≥ 1) waits a random time in [0, min(cap, initial·2ⁿ⁻¹)], at least
/// `floor` seconds. Used by the forwarder between delivery attempts and by the sinks between
/// destination retries.
///
/// ```swift
/// var backoff = Backoff(initial: 0.2, cap: 30)
/// let pause = backoff.next()   // 0.05…0.2 s, then 0.05…0.4 s, …
/// backoff.reset()              // after a success
/// ```
package struct Backoff: Sendable {
    /// The first ceiling, seconds.
    package var initial: Double
    /// The largest ceiling, seconds.
    package var cap: Double
    /// The shortest pause, seconds.
    package var floor: Double
    /// Failures so far.
    package private(set) var failures = 0

    /// - Parameters:
    ///   - initial: the first ceiling, seconds.
    ///   - cap: the largest ceiling, seconds.
    ///   - floor: the shortest pause, seconds (default 0).
    package init(initial: Double, cap: Double, floor: Double = 0) {
        self.initial = initial
        self.cap = cap
        self.floor = floor
    }

    /// Counts one more failure and returns the pause before the next attempt, seconds.
    package mutating func next() -> Double {
        failures += 1
        return Self.delay(failures: failures, initial: initial, cap: cap, floor: floor)
    }

    /// Starts again after a success.
    package mutating func reset() { failures = 0 }

    /// The pause after the `failures`-th failure in a row: random in
    /// [floor, max(floor, min(cap, initial·2^(failures−1)))].
    package static func delay(failures: Int, initial: Double, cap: Double, floor: Double = 0) -> Double {
        let doublings = max(0, min(failures, 63) - 1)
        let ceiling = min(cap, initial * Double(sign: .plus, exponent: doublings, significand: 1))
        let top = max(floor, ceiling)
        return top > 0 ? max(floor, Double.random(in: 0...top)) : 0
    }
}
