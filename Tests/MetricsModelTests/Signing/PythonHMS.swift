import Foundation
import Testing

/// Runs `Tests/AgentTests/Delivery/Support/receiver.py` (the PyPI package
/// `http-message-signatures` 3.0.0, an implementation independent of ours)
/// with the repository's `.venv` Python.
enum PythonHMS {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = repoRoot.appendingPathComponent(".venv/bin/python").path
    static let script = repoRoot.appendingPathComponent("Tests/AgentTests/Delivery/Support/receiver.py").path

    /// Runs `receiver.py <mode>` with `input` as JSON on stdin and returns its parsed JSON output.
    static func run(_ mode: String, _ input: Any) throws -> Any {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure("no Python venv at \(python): run scripts/install-deps.sh")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script, mode]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        stdin.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: input))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure("receiver.py \(mode) exited \(p.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: out)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
