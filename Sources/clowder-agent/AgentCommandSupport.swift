import Agent
import ArgumentParser
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// What the subcommands share: loading the settings with a clear error, logging.
enum AgentCommandSupport {
    /// Exit status for a configuration the agent refuses (sysexits.h `EX_CONFIG`).
    static let configExitCode: Int32 = 78

    /// Loads the settings; on error prints `clowder-agent: <file:line: KEY="value": what is expected>` and exits 78.
    static func loadConfiguration(envFile: String?) async throws -> AgentConfiguration {
        do {
            let (configuration, warnings) = try await AgentConfiguration.load(envFile: envFile)
            for w in warnings { printError("warning: \(w)") }
            return configuration
        } catch let error as ConfigError {
            printError("configuration: \(error)")
            throw ExitCode(configExitCode)
        }
    }

    /// Sends swift-log output to standard error at `level`.
    static func bootstrapLogging(level: String) {
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
    }

    /// Writes one line to standard error, prefixed with the program name.
    static func printError(_ message: String) {
        let line = Array("clowder-agent: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
