import ArgumentParser
import Foundation
import Ingest
import Logging

/// `clowder-ingest [serve] --env-file F`: serve until SIGTERM/SIGINT; SIGHUP re-reads the keys file.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the ingest API (the default).")

    @OptionGroup var options: EnvFileOption

    func run() async throws {
        let config: IngestConfiguration
        let server: IngestServer
        do {
            config = try await IngestConfiguration.load(environmentFile: options.envFile)
            server = try IngestServer(configuration: config, logger: Logger(label: "clowder.ingest"))
        } catch {
            printError("clowder-ingest: \(error)")
            throw ExitCode.failure
        }
        try await server.run()
    }
}

/// Writes one line to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
