import Foundation
import Glibc
import Synchronization
import SystemSupport
import TestSupport
import Testing

@Suite(.ownThreads) struct SyscallTests {
    /// A failing call throws its name and errno; the text is the C library's own.
    @Test func errnoCarriesTheCall() throws {
        let error = #expect(throws: Errno.self) {
            try syscall("open") { open("/nonexistent/clowder-\(UUID().uuidString)", O_RDONLY) }
        }
        #expect(error?.code == ENOENT)
        #expect(error?.function == "open")
        #expect(error?.description == "open: No such file or directory (errno 2)")
    }

    /// A call interrupted by a signal is made again (swift-nio's rule): a read on an empty pipe
    /// that SIGALRM (installed without SA_RESTART) interrupts until the funnel has called it twice,
    /// and then gets its byte.
    @Test func retriesEINTR() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = 0  // no SA_RESTART: read(2) fails with EINTR
        var old = sigaction()
        sigaction(SIGALRM, &action, &old)
        defer { sigaction(SIGALRM, &old, nil) }
        // Threads of a pool may block signals: let this one receive SIGALRM while the test runs.
        var alarm = sigset_t(), previous = sigset_t()
        sigemptyset(&alarm)
        sigaddset(&alarm, SIGALRM)
        pthread_sigmask(SIG_UNBLOCK, &alarm, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let calls = Counter()
        let reader = pthread_self()
        let writeEnd = fds[1]
        let writer = Thread {
            // At most 5 s of signals: a read that is never interrupted fails the test, not hangs it.
            for _ in 0..<250 where calls.value.load(ordering: .acquiring) < 2 {
                pthread_kill(reader, SIGALRM)
                usleep(20_000)
            }
            var b: UInt8 = 7
            _ = write(writeEnd, &b, 1)
        }
        writer.start()
        var byte: UInt8 = 0
        let n = try syscall("read") { () -> Int in
            calls.value.add(1, ordering: .releasing)
            return read(fds[0], &byte, 1)
        }
        #expect(n == 1 && byte == 7)
        #expect(calls.value.load(ordering: .relaxed) >= 2, "at least one EINTR, then the byte")
    }

    /// Whole-file and secret reads: bytes as written, trailing whitespace off the secret,
    /// a missing file named by its errno, a limit.
    @Test func fileContents() throws {
        let dir = try makeTempDirectory("file")
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("secret").path
        try Data("s3cret \t\r\n\n".utf8).write(to: URL(fileURLWithPath: f))
        #expect(try FileContents.read(f) == Array("s3cret \t\r\n\n".utf8))
        #expect(try FileContents.secret(f) == Array("s3cret".utf8))
        #expect(throws: FileContents.Failure.tooLarge(limit: 4)) { try FileContents.read(f, limit: 4) }
        #expect(throws: FileContents.Failure.system(Errno(code: ENOENT, function: "open"))) {
            try FileContents.read(f + ".missing")
        }
    }
}

/// A counter shared with another thread.
private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
