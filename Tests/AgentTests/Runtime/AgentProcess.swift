import Foundation

/// Runs the built `clowder-agent` executable from a test, as an operator would.
struct AgentProcess {
    /// The repository root, from this file's path.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `<repo>/../shared/tools/<name>`.
    static func sharedTool(_ name: String) -> String {
        repoRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/\(name)").path
    }

    /// The debug build of clowder-agent (built by `swift build --build-tests`).
    static var executable: String {
        for config in ["debug", "release"] {
            let p = repoRoot.appendingPathComponent(".build/\(config)/clowder-agent").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return repoRoot.appendingPathComponent(".build/debug/clowder-agent").path
    }

    let process = Process()
    let stdout = Pipe()
    let stderr = Pipe()

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CLOWDER_METRICS_") }
        env.merge(environment) { _, b in b }
        process.environment = env
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
    }

    /// Runs to completion; returns exit status, standard output and standard error.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = try AgentProcess(arguments, environment: environment)
        let out = p.stdout.fileHandleForReading.readDataToEndOfFile()
        let err = p.stderr.fileHandleForReading.readDataToEndOfFile()
        p.process.waitUntilExit()
        return (p.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// Sends SIGTERM and waits (at most `timeout` seconds) for the exit.
    func terminate(timeout: Double = 30) -> Int32 {
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }
}

