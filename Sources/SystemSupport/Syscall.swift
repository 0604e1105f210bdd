#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: its name and its `errno` (errno(3)).
///
/// The one error the boundary to the operating system throws, in the manner of swift-nio's
/// `IOError` (NIOPosix): the call's name is kept so that a message says *which* call failed,
/// and the code is kept so that a caller can branch on it (`ENOENT`, `EACCES`, …).
/// This file is the only place that turns an `errno` into text (`strerror(3)`).
package struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value, e.g. `ENOENT` (2).
    package var code: Int32
    /// The system call or library function that failed, e.g. `open`; empty when unknown.
    package var function: String

    /// - Parameters:
    ///   - code: the `errno` value.
    ///   - function: the failed call's name.
    package init(code: Int32, function: String = "") {
        self.code = code
        self.function = function
    }

    /// The calling thread's current `errno`, with the call that set it.
    package static func current(_ function: String = "") -> Errno { Errno(code: errno, function: function) }

    /// The system's text for `code` (`strerror(3)`), e.g. `No such file or directory`.
    package var text: String { Errno.text(code) }

    /// The system's text for an `errno` value (`strerror(3)`).
    package static func text(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// `open: No such file or directory (errno 2)`.
    package var description: String {
        function.isEmpty ? "\(text) (errno \(code))" : "\(function): \(text) (errno \(code))"
    }
}

/// Runs a system call that returns `-1` and sets `errno` on failure, again while it fails
/// with `EINTR`; the funnel all of the agent's, ingest's and sinks' own system calls go through
/// (swift-nio's `syscall(blocking:where:_:)` in NIOPosix is the model).
///
/// ```swift
/// let fd = try syscall("open") { open(path, O_RDONLY | O_CLOEXEC) }
/// ```
/// - Parameters:
///   - function: the call's name, kept in the error.
///   - body: the call; a negative result means failure with `errno` set.
/// - Returns: the call's (non-negative) result.
/// - Throws: ``Errno`` with `function` for any failure other than `EINTR`.
@inline(__always)
package func syscall<T: FixedWidthInteger>(_ function: String, _ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw Errno(code: code, function: function)
    }
}

/// ``syscall(_:_:)`` for calls that return a pointer, `nil` with `errno` set on failure
/// (`fopen`, `opendir`, …); retried on `EINTR`.
/// - Throws: ``Errno`` with `function`.
@inline(__always)
package func syscall<T>(_ function: String, _ body: () -> T?) throws(Errno) -> T {
    while true {
        if let result = body() { return result }
        let code = errno
        if code == EINTR { continue }
        throw Errno(code: code, function: function)
    }
}

/// The funnel for calls that return an `errno` value themselves (0 on success), such as
/// `posix_spawn(3)` and the `pthread_*` functions.
/// - Throws: ``Errno`` with `function` when `body` returns non-zero.
@inline(__always)
package func syscallReturningErrno(_ function: String, _ body: () -> Int32) throws(Errno) {
    let code = body()
    if code != 0 { throw Errno(code: code, function: function) }
}
