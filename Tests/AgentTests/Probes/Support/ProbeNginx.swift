import Foundation

/// A real NGINX (Debian's nginx-light) for the probe tests: its own prefix
/// directory, config and loopback port; stopped by PID.
///
/// Named `ProbeNginx` so it never clashes with the shared `NginxServer` helper.
final class ProbeNginx: @unchecked Sendable {
    let prefix: URL
    let port: Int
    let address: String
    private let process: Process

    /// Starts NGINX serving `serverBody` (directives inside `server { … }`) on
    /// `address:port`, with the document root `<prefix>/html`.
    /// - Parameters:
    ///   - launcher: a command prefix, e.g. `["ip", "netns", "exec", "x-far"]`.
    ///   - prepare: writes files into the document root before the start.
    init(address: String = "127.0.0.1", port: Int? = nil, launcher: [String] = [], serverBody: String,
         extraServers: String = "", prepare: (URL) throws -> Void = { _ in }) throws {
        let fm = FileManager.default
        prefix = fm.temporaryDirectory.appendingPathComponent("probe-nginx-\(UUID().uuidString)")
        let html = prefix.appendingPathComponent("html")
        try fm.createDirectory(at: html, withIntermediateDirectories: true)
        try prepare(html)
        self.address = address
        self.port = try port ?? freeLoopbackPort()
        let p = prefix.path
        let conf = """
            daemon off;
            master_process on;
            worker_processes 1;
            error_log \(p)/error.log warn;
            pid \(p)/nginx.pid;
            events { worker_connections 256; }
            http {
                access_log off;
                default_type application/octet-stream;
                client_body_temp_path \(p)/client_body;
                proxy_temp_path \(p)/proxy;
                fastcgi_temp_path \(p)/fastcgi;
                uwsgi_temp_path \(p)/uwsgi;
                scgi_temp_path \(p)/scgi;
                server {
                    listen \(address):\(self.port);
                    root \(p)/html;
                    \(serverBody)
                }
                \(extraServers)
            }
            """
        let confURL = prefix.appendingPathComponent("nginx.conf")
        try conf.write(to: confURL, atomically: true, encoding: .utf8)
        process = Process()
        let command = launcher + ["/usr/sbin/nginx", "-c", confURL.path, "-p", p + "/"]
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait until the pid file appears and the port accepts (at most 5 s).
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if !process.isRunning {
                let msg = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw ProbeTestError("nginx exited at start: \(msg)")
            }
            if fm.fileExists(atPath: "\(p)/nginx.pid") && (launcher.isEmpty ? canConnect(address, self.port) : true) {
                usleep(launcher.isEmpty ? 0 : 200_000)
                return
            }
            usleep(20_000)
        }
        process.terminate()
        throw ProbeTestError("nginx did not start listening on \(address):\(self.port)")
    }

    /// The URL of `path` on this server.
    func url(_ path: String) -> String { "http://\(address):\(port)\(path)" }

    /// Stops NGINX (SIGTERM to the master, by PID) and removes the prefix.
    func stop() {
        if let pid = try? String(contentsOfFile: prefix.path + "/nginx.pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), let n = Int32(pid) {
            kill(n, SIGTERM)
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: prefix)
    }

    deinit { if process.isRunning { stop() } }
}

/// A failure in a test's own set-up.
struct ProbeTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A loopback TCP port that was free a moment ago (bind to port 0, read it, close).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ProbeTestError("socket: \(errno)") }
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    a.sin_port = 0
    let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { throw ProbeTestError("bind: \(errno)") }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: a.sin_port))
}

/// Whether a TCP connect to `address:port` succeeds now.
func canConnect(_ address: String, _ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr(address)
    a.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}

/// A TCP socket that listens on a loopback port but never accepts or answers:
/// the kernel completes the handshake, then nothing ever comes back.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0, listen(fd, 16) == 0 else { close(fd); throw ProbeTestError("silent listener: \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: a.sin_port))
    }

    deinit { close(fd) }
}

/// Paths relative to this file: the repository root and the shared tools beside it.
enum ProbeTestPaths {
    /// `<repo>`: five path components above this file (`Tests/AgentTests/Probes/Support/`).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// `<repo>/../shared/tools` (CI clones the repository with `shared/` beside
    /// it); for a git worktree nested deeper, the nearest ancestor's `shared/tools`.
    static let sharedTools: URL = {
        var dir = repoRoot.deletingLastPathComponent()
        while dir.path != "/" {
            let tools = dir.appendingPathComponent("shared/tools")
            if FileManager.default.fileExists(atPath: tools.appendingPathComponent("delay-link").path) { return tools }
            dir = dir.deletingLastPathComponent()
        }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/tools")
    }()

    /// The built `clowder-agent` (the newer of `.build/release` and `.build/debug`).
    static func agentBinary() throws -> URL {
        let fm = FileManager.default
        let candidates = ["release", "debug"].map { repoRoot.appendingPathComponent(".build/\($0)/clowder-agent") }
            .filter { fm.isExecutableFile(atPath: $0.path) }
        let newest = candidates.max { a, b in
            let da = (try? fm.attributesOfItem(atPath: a.path)[.modificationDate] as? Date) ?? .distantPast
            let db = (try? fm.attributesOfItem(atPath: b.path)[.modificationDate] as? Date) ?? .distantPast
            return da < db
        }
        guard let newest else {
            throw ProbeTestError("clowder-agent is not built: run `swift build --product clowder-agent` first")
        }
        return newest
    }
}

/// Runs a command to its end; returns exit status, stdout and stderr.
///
/// Output goes through temporary files, not pipes, so a daemon the command
/// leaves behind (delay-link's forwarder) cannot hold the read open forever.
@discardableResult
func runCommand(_ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0].hasPrefix("/") ? args[0] : "/usr/bin/env")
    p.arguments = args[0].hasPrefix("/") ? Array(args.dropFirst()) : args
    if let environment { p.environment = environment }
    let dir = FileManager.default.temporaryDirectory
    let outURL = dir.appendingPathComponent("probe-cmd-\(UUID().uuidString).out")
    let errURL = dir.appendingPathComponent("probe-cmd-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    if ProcessInfo.processInfo.environment["PROBE_TEST_DEBUG"] != nil { FileHandle.standardError.write(Data("run: \(args)\n".utf8)) }
    try p.run()
    p.waitUntilExit()
    if ProcessInfo.processInfo.environment["PROBE_TEST_DEBUG"] != nil { FileHandle.standardError.write(Data("done: \(args[0]) \(p.terminationStatus)\n".utf8)) }
    try? out.close()
    try? err.close()
    return (p.terminationStatus, (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// `args` run as a clean daemon parent: empty signal mask and no inherited
/// descriptors beyond 0–2. A test process blocks most signals on its worker
/// threads and a spawned child inherits that mask, so a daemon it starts
/// (delay-link's forwarder) would never see the SIGTERM of `down`; and
/// Foundation's `Process` learns of the child's exit from a socket the child
/// inherits, which a daemon grandchild would keep open forever.
func asDaemonParent(_ args: [String]) -> [String] {
    ["python3", "-c",
     "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.closerange(3, 65536); "
        + "os.execvp(sys.argv[1], sys.argv[1:])"]
        + args
}
