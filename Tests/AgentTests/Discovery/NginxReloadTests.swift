import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP re-reads `CLOWDER_METRICS_NGINX_CONFIG`: a saved `nginx -T` output is rewritten in place
/// with the same size and modification time (so the file watch cannot see it) to name one more
/// access log; only the SIGHUP makes the agent tail it. And an agent that tails
/// `CLOWDER_METRICS_ACCESS_LOG` survives a SIGHUP.
@Suite("clowder-agent run: SIGHUP", .serialized, .ownThreads)
struct NginxReloadTests {
    static func points(_ path: String, log: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["measurement"] as? String == "nginx_access" && ($0["tags"] as? [String: String])?["access_log"] == log }
    }

    @Test("a change the file watch cannot see is picked up on SIGHUP; the new log is then counted")
    func sighupRereads() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let logs = dir.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        let nginx = try NginxServer(logFormat: NginxDiscoveryTests.plain,
                                    serverDirectives: NginxDiscoveryTests.locations(logs, fourth: false),
                                    httpDirectives: NginxDiscoveryTests.formats())
        defer { nginx.stop() }
        let binary = try #require(NginxServer.findBinary())
        let dump = Process()
        dump.executableURL = URL(fileURLWithPath: binary)
        dump.arguments = ["-T", "-c", nginx.configPath, "-p", nginx.prefix + "/"]
        let out = Pipe()
        dump.standardOutput = out
        dump.standardError = FileHandle.nullDevice
        try dump.run()
        let full = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        dump.waitUntilExit()
        let directive = "access_log \(logs)/json.log json_fmt;"
        #expect(full.contains(directive))
        // The same text with the JSON log switched off, padded to the same length.
        let off = "access_log off;"
        let without = full.replacingOccurrences(of: directive, with: off + String(repeating: " ", count: directive.count - off.count))
        #expect(without.utf8.count == full.utf8.count)
        let saved = dir.file("nginx-T.txt")
        try without.write(toFile: saved, atomically: false, encoding: .utf8)
        var st = stat()
        #expect(stat(saved, &st) == 0)
        let times = [st.st_atim, st.st_mtim]

        let env = """
            CLOWDER_METRICS_NGINX_CONFIG=\(saved)
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_WINDOW=1
            CLOWDER_METRICS_ALLOWED_LATENESS=0
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        usleep(500_000)
        for i in 0..<4 { #expect(try nginx.get("/json/a\(i)").status == 200) }
        // Rewrite in place, same size, then put the modification time back.
        let fd = open(saved, O_WRONLY)
        #expect(fd >= 0)
        _ = full.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, full.utf8.count) }
        close(fd)
        #expect(times.withUnsafeBufferPointer { utimensat(AT_FDCWD, saved, $0.baseAddress, 0) } == 0)
        var after = stat()
        #expect(stat(saved, &after) == 0 && after.st_mtim.tv_sec == st.st_mtim.tv_sec && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
        usleep(3_000_000)  // the file watch runs every 2 s: it must not have noticed
        #expect(Self.points(dir.file("out.jsonl"), log: logs + "/json.log").isEmpty)
        #expect(kill(agent.process.processIdentifier, SIGHUP) == 0)
        usleep(1_500_000)
        for i in 0..<3 { #expect(try nginx.get("/json/b\(i)").status == 200) }
        usleep(2_500_000)
        #expect(agent.terminate() == 0)
        let json = Self.points(dir.file("out.jsonl"), log: logs + "/json.log")
        let requests = json.reduce(0) { $0 + ((($1["fields"] as? [String: Any])?["requests"] as? Int) ?? 0) }
        #expect(requests == 7, "the JSON log, read from its start once known: 4 lines before the SIGHUP and 3 after")
    }

    @Test("with CLOWDER_METRICS_ACCESS_LOG, SIGHUP is logged and the agent goes on")
    func sighupWithoutDiscovery() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(FileManager.default.createFile(atPath: dir.file("access.log"), contents: nil))
        let env = """
            CLOWDER_METRICS_ACCESS_LOG=\(dir.file("access.log"))
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        usleep(2_000_000)  // the handler is installed once `run` starts
        #expect(kill(agent.process.processIdentifier, SIGHUP) == 0)
        usleep(500_000)
        #expect(agent.process.isRunning)
        #expect(agent.terminate() == 0)
        let err = String(decoding: agent.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err.contains("nothing to reload"), "\(err)")
    }
}
