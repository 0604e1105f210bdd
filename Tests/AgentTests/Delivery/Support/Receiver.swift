import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The Python test receiver (`receiver.py serve`), started per test on free
/// loopback ports and stopped by its PID when the test ends.
final class Receiver: @unchecked Sendable {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let python = repoRoot.appendingPathComponent(".venv/bin/python").path
    static let script = repoRoot.appendingPathComponent("Tests/AgentTests/Delivery/Support/receiver.py").path

    let process = Process()
    let port: Int
    let controlPort: Int
    /// With TLS: the self-signed certificate to trust (PEM).
    let caFile: String?
    var baseURL: String { "\(caFile == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - keys: keyid → secret bytes the receiver accepts.
    ///   - tls: serve HTTPS with a new self-signed certificate for 127.0.0.1 (see ``caFile``).
    init(keys: [String: [UInt8]], directory: URL, tls: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw Failure("no Python venv at \(Self.python): run scripts/install-deps.sh")
        }
        let keysFile = directory.appendingPathComponent("receiver-keys.json")
        let keyJSON = keys.mapValues { Data($0).base64EncodedString() }
        try JSONSerialization.data(withJSONObject: keyJSON).write(to: keysFile)
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script, "serve", "--keys", keysFile.path] + (tls ? ["--tls", directory.path] : [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // First line: {"port": N, "control_port": M}
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([10]) { break }
            line += byte
        }
        guard let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let p = obj["port"] as? Int,
            let c = obj["control_port"] as? Int
        else {
            process.terminate()
            throw Failure("receiver.py did not start: \(String(decoding: line, as: UTF8.self))")
        }
        port = p
        controlPort = c
        caFile = obj["ca_file"] as? String
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// What the receiver has seen.
    struct State {
        var batches: [[String: Any]]
        var accepted: Int
        var duplicates: Int
        var requests: Int
        var rejected: [String]
        var batchIDs: [String] { batches.compactMap { $0["id"] as? String } }
    }

    func state() async throws -> State {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(controlPort)/state")!)
        let o = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return State(
            batches: o["batches"] as? [[String: Any]] ?? [], accepted: o["accepted"] as? Int ?? 0,
            duplicates: o["duplicates"] as? Int ?? 0, requests: o["requests"] as? Int ?? 0,
            rejected: o["rejected"] as? [String] ?? [])
    }

    func control(_ pathAndQuery: String) async throws {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(controlPort)\(pathAndQuery)")!)
        r.httpMethod = "POST"
        _ = try await URLSession.shared.data(for: r)
    }

    func down() async throws { try await control("/down") }
    func up() async throws { try await control("/up") }
    /// The next `count` verified requests (all, when nil) are answered `status` (`ok`, `400`, `503`).
    func mode(_ status: String, count: Int? = nil, retryAfter: String? = nil, hang: Double? = nil) async throws {
        var q = "/mode?status=\(status)"
        if let count { q += "&count=\(count)" }
        if let hang { q += "&hang=\(hang)" }
        if let retryAfter { q += "&retry_after=\(retryAfter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        try await control(q)
    }

    /// Polls until `condition` holds for the state (up to `seconds`; generous, not a timing assertion).
    func wait(seconds: Double = 60, until condition: (State) -> Bool) async throws -> State {
        let end = Date().addingTimeInterval(seconds)
        while true {
            let s = try await state()
            if condition(s) { return s }
            if Date() > end { return s }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// A fresh temporary directory, removed by the caller's `defer`.
func makeTempDirectory(_ name: String = "delivery") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
