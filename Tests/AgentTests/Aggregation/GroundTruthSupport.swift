import Foundation
import Testing

/// Runs `../shared/tools/gen-clowder-log` (beside the repository, as CI clones it) into a
/// unique temporary directory and reads its truth file with JSONSerialization.
struct GeneratedLog {
    let log: URL
    let truth: [String: Any]
    let directory: URL

    static let tool = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/tools/gen-clowder-log")

    init(_ arguments: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        log = directory.appendingPathComponent("access.log")
        let truthURL = directory.appendingPathComponent("truth.json")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.tool.path, "--out", log.path, "--truth", truthURL.path] + arguments
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw GenError(message: "gen-clowder-log \(arguments) failed (\(p.terminationStatus)): \(text) [tool: \(Self.tool.path)]")
        }
        let data = try Data(contentsOf: truthURL)
        truth = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    var logFormat: String { truth["log_format"] as! String }
    var totals: [String: Any] { truth["totals"] as! [String: Any] }
    var minutes: [String: [String: Any]] { truth["minutes"] as! [String: [String: Any]] }

    /// The log's lines as bytes (no newlines).
    func lines() throws -> [[UInt8]] {
        var lines = [UInt8](try Data(contentsOf: log)).split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    struct GenError: Error, CustomStringConvertible { let message: String; var description: String { message } }
}
