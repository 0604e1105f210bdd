import Foundation
import TestSupport
import Testing

/// `clowder-agent parse --nginx-config FILE LOG…` picks the format the `access_log` for each file
/// writes (by path or rotated name); totals equal gen-clowder-log's truth.
@Suite("clowder-agent parse --nginx-config", .ownThreads)
struct ParseNginxConfigTests {
    @Test("the format of the access_log that writes the file (also its rotated copy); files of two formats are refused")
    func picksFormatPerFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gen.arguments = ["python3", AgentProcess.sharedTool("gen-clowder-log"), "--lines", "3000", "--seed", "21",
                         "--format", "clowder_rl", "--out", dir.file("clowder.log"), "--truth", dir.file("truth.json")]
        try gen.run()
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)
        let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("truth.json")))) as! [String: Any]
        let format = truth["log_format"] as! String
        let config = """
            # configuration file /etc/nginx/nginx.conf:
            http {
                log_format site '\(format)';
                access_log \(dir.file("other.log"));
                server {
                    access_log \(dir.file("clowder.log")) site;
                }
            }
            """
        try config.write(toFile: dir.file("nginx-T.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: dir.file("clowder.log"), toPath: dir.file("clowder.log.1"))
        try #"203.0.113.9 - - [01/Jun/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0""#.appending("\n")
            .write(toFile: dir.file("other.log"), atomically: true, encoding: .utf8)
        let totals = truth["totals"] as! [String: Any]
        for file in ["clowder.log", "clowder.log.1"] {
            let r = try AgentProcess.run(["parse", "--json", "--nginx-config", dir.file("nginx-T.txt"), dir.file(file)])
            #expect(r.status == 0, "\(file): \(r.err)")
            let agent = (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["totals"] as? [String: Any] ?? [:]
            for counter in ["requests", "page_views", "download_file", "uploads", "upload_bytes", "bytes_sent", "malformed_lines"] {
                #expect(agent[counter] as? Int == totals[counter] as? Int, "\(file) \(counter)")
            }
        }
        let combined = try AgentProcess.run(["parse", "--json", "--nginx-config", dir.file("nginx-T.txt"), dir.file("other.log")])
        #expect(combined.status == 0, "\(combined.err)")
        #expect(combined.out.contains("\"requests\":1") || combined.out.contains("\"requests\": 1"), "\(combined.out)")
        let both = try AgentProcess.run(["parse", "--nginx-config", dir.file("nginx-T.txt"), dir.file("clowder.log"), dir.file("other.log")])
        #expect(both.status != 0)
        #expect(both.err.contains("parse them one at a time"), "\(both.err)")
    }
}
