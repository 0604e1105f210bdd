import Foundation
import Testing

/// A suite or test trait that runs each test on threads of its own instead of
/// Swift's cooperative pool.
///
/// The cooperative pool has one thread per core (two on the CI machine). Tests
/// that block a thread — waiting for a process (`waitUntilExit`), `usleep`
/// between NGINX requests, a blocking read of a pipe — would otherwise hold
/// those threads for tens of seconds, and every async test running beside them
/// (a `Task.sleep` loop waiting for a probe round, a consumer reading a stream)
/// would stall until its own deadline passed. Under this trait every job of
/// the test's task and its child tasks runs on a new thread (a
/// ``ThreadPerJobExecutor`` set as the task executor preference, SE-0417), so
/// blocking costs that test alone.
///
/// ```swift
/// @Suite("LogTail with NGINX", .ownThreads)
/// struct LogTailNginxTests { … }
/// ```
///
/// Unstructured `Task { }` created inside the test do not inherit the
/// preference; they run on the cooperative pool, which the blocking tests no
/// longer occupy.
public struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    /// Applies to every test of a suite (each test case gets its own executor).
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // The suite itself needs no scope: its tests each get one.
        if test.isSuite { return try await function() }
        try await withTaskExecutorPreference(ThreadPerJobExecutor()) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// Runs the suite's tests on threads of their own (see ``OwnThreadsTrait``).
    public static var ownThreads: Self { Self() }
}

/// A task executor that runs every job it is given on a new thread.
///
/// A job is the stretch of a task between two suspension points, so a test
/// that awaits in a loop starts a thread per resumption (tens of microseconds
/// each); in exchange no job waits for another, however long it blocks.
public final class ThreadPerJobExecutor: TaskExecutor {
    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        thread.name = "test-own-thread"
        thread.start()
    }
}
