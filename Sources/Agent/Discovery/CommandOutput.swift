#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// Runs a program (no shell) and collects what it writes, for `nginx -T`.
///
/// Our own code over `posix_spawn(3)` rather than Foundation's `Process`, which would pull all of
/// Foundation into the agent (FoundationEssentials has no `Process`). Both output streams are read
/// with `poll(2)` until the program closes them, so neither can fill its pipe and block the program.
struct CommandOutput {
    /// The program's exit status (128 + signal number when a signal ended it).
    var status: Int32
    /// Everything it wrote to standard output.
    var stdout: [UInt8]
    /// Everything it wrote to standard error.
    var stderr: [UInt8]

    /// Runs `arguments[0]` (searched in `PATH` when it has no `/`) with the rest as its arguments.
    /// - Throws: ``RuntimeError`` `.logFormat` when the program cannot be started.
    static func run(_ arguments: [String]) throws -> CommandOutput {
        precondition(!arguments.isEmpty)
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else {
            throw RuntimeError(.logFormat, "cannot make a pipe for \(arguments[0]): \(Errno.text(errno))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in out + err { posix_spawn_file_actions_addclose(&actions, fd) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        close(out[1])
        close(err[1])
        guard rc == 0 else {
            close(out[0])
            close(err[0])
            throw RuntimeError(.logFormat, "cannot run \(arguments[0]): \(Errno.text(rc))")
        }
        var result = CommandOutput(status: 0, stdout: [], stderr: [])
        var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
        var chunk = [UInt8](repeating: 0, count: 65536)
        var open = 2
        while open > 0 {
            guard (try? syscall("poll") { poll(&fds, 2, -1) }) != nil else { break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = (try? syscall("read") { read(fds[i].fd, &chunk, chunk.count) }) ?? -1
                if n > 0 {
                    if i == 0 { result.stdout += chunk[0..<n] } else { result.stderr += chunk[0..<n] }
                } else {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        for f in fds where f.fd >= 0 { close(f.fd) }
        var status: Int32 = 0
        _ = try? syscall("waitpid") { waitpid(pid, &status, 0) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG (sys/wait.h macros, not imported into Swift).
        result.status = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return result
    }
}
