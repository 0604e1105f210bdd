import Foundation

/// Where the repository, its `deploy/` folder, the build products and the shared tools are,
/// found from this file's path (never a hard-coded `/work/...`).
enum Repo {
    /// The repository root (this file is `Tests/DeployTests/Support/Paths.swift`).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `deploy/`.
    static var deploy: URL { root.appendingPathComponent("deploy") }

    /// `<repo>/../shared/tools` (CI clones the repository with `shared/` beside it); from a git
    /// worktree one level deeper (`<dir>/wt/<name>`), `<repo>/../../shared/tools`.
    static var sharedTools: URL {
        let beside = root.deletingLastPathComponent().appendingPathComponent("shared/tools")
        if FileManager.default.fileExists(atPath: beside.path) { return beside }
        return root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/tools")
    }

    /// A debug build product such as `clowder-agent`, if it was built (`swift build --build-tests` builds them all).
    static func debugProduct(_ name: String) -> URL? {
        for dir in [".build/debug", ".build/x86_64-unknown-linux-gnu/debug", ".build/aarch64-unknown-linux-gnu/debug"] {
            let url = root.appendingPathComponent(dir).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// The text of a file under the repository root.
    static func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    /// A fresh temporary directory (the caller removes it).
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-deploy-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Runs a program to completion and returns its exit status and output.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes before waiting, so a chatty program cannot fill a pipe and block.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The first `name` found on `PATH` (and the usual sbin folders).
    static func which(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
