import ArgumentParser
import Logging
import ServiceLifecycle
import Sinks

/// `clowder-sink`: consumes the `clowder.metrics` exchange, one durable queue
/// per sink, and writes to InfluxDB, PostgreSQL, SQLite, Amplitude or GA4.
@main
struct ClowderSink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clowder-sink",
        abstract: "Write the clowder.metrics stream to InfluxDB, PostgreSQL, SQLite, Amplitude and Google Analytics 4.",
        subcommands: [RunCommand.self, CheckCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

/// Options shared by the subcommands.
struct SettingsOptions: ParsableArguments {
    @Option(name: .customLong("env-file"), help: "KEY=value settings file (CLOWDER_SINK_* keys); the process environment wins.")
    var environmentFile: String?

    func load() async throws -> SinkSettings {
        let reader = try await SinkSettings.reader(environmentFile: environmentFile)
        return try SinkSettings(reader: reader)
    }
}

/// `clowder-sink [run] --env-file F`: runs every configured sink until SIGTERM or SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the configured sinks.")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let settings: SinkSettings
        do {
            settings = try await options.load()
        } catch let e as SinkError {
            throw ValidationError("configuration:\n\(e.message)")
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = settings.logLevel
            return h
        }
        let logger = Logger(label: "clowder-sink")
        let service = try SinkService(settings: settings, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// `clowder-sink check --env-file F`: validates the configuration and prints the sinks it would run.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Validate the configuration; exit 1 naming each bad key, its value and what is expected.")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        do {
            let s = try await options.load()
            print("configuration OK: broker \(redacted(s.amqpURL)), exchange \(s.exchange), dead letters \(s.deadLetterExchange) → \(s.deadLetterQueue)")
            for d in s.sinks {
                print("  sink \(d.name): queue \(d.queue), \(describe(d.destination)), batch \(d.batchSize) / \(d.maxDelay) s, prefetch \(d.prefetch)")
            }
        } catch let e as SinkError {
            var stderr = StandardError()
            print("configuration errors:", to: &stderr)
            for line in e.message.split(separator: "\n") { print("  \(line)", to: &stderr) }
            throw ExitCode(1)
        } catch {
            var stderr = StandardError()
            print("cannot read the configuration: \(error)", to: &stderr)
            throw ExitCode(1)
        }
    }

    func describe(_ d: SinkDefinition.DestinationSettings) -> String {
        switch d {
        case .influx(let c): "InfluxDB \(c.version.rawValue) at \(c.url) (\(c.version == .v1 ? "db \(c.database)" : "bucket \(c.bucket)"))"
        case .postgres(let url, let prefix, _): "PostgreSQL at \(redacted(url)) (tables \(prefix)points, \(prefix)events)"
        case .sqlite(let path, let prefix): "SQLite \(path) (tables \(prefix)points, \(prefix)events)"
        case .amplitude(let endpoint, _, let c): "Amplitude \(endpoint) (\(c.isEmpty ? "all categories" : c.sorted().joined(separator: ",")))"
        case .ga4(let endpoint, let id, _, let c): "GA4 \(endpoint) \(id) (\(c.isEmpty ? "all categories" : c.sorted().joined(separator: ",")))"
        }
    }

    func redacted(_ url: String) -> String {
        guard let s = url.firstRange(of: "://"), let at = url[s.upperBound...].firstIndex(of: "@") else { return url }
        let info = url[s.upperBound..<at]
        guard let colon = info.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        #if canImport(Glibc)
        fputs(string, stderr)
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
