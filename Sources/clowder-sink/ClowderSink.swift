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
        subcommands: [RunCommand.self, CheckCommand.self, GenerateCommand.self, VerdictsCommand.self],
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

    @Option(
        name: .customLong("exit-when-idle"),
        help: ArgumentHelp("Benchmarks: stop once every sink has written something and then received nothing for this many seconds; print a summary.", visibility: .hidden))
    var exitWhenIdle: Double?

    func run() async throws {
        let settings: SinkSettings
        do {
            settings = try await options.load()
        } catch let e as SinkError {
            throw ValidationError("configuration:\n\(e.message)")
        }
        Lifecycle.bootstrapLogging(level: settings.logLevel)
        let logger = Logger(label: "clowder-sink")
        let service = try SinkService(settings: settings, logger: logger)
        let group = Lifecycle.group(service, logger: logger)
        if let idle = exitWhenIdle {
            let monitor = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    let stats = service.runners.map(\.stats)
                    let quiet = stats.allSatisfy { s in
                        guard let last = s.lastAcknowledged else { return false }
                        return ContinuousClock.now - last > .seconds(idle)
                    }
                    if quiet {
                        await group.triggerGracefulShutdown()
                        return
                    }
                }
            }
            try await group.run()
            monitor.cancel()
            for r in service.runners {
                let s = r.stats
                var seconds = 0.0
                if let a = s.firstReceived, let b = s.lastAcknowledged {
                    let d = b - a
                    seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                }
                let rate = seconds > 0 ? Double(s.written) / seconds : 0
                print(#"{"sink":"\#(r.definition.name)","written":\#(s.written),"dead_lettered":\#(s.deadLettered),"batches":\#(s.batches),"retries":\#(s.retries),"seconds":\#(seconds),"messages_per_second":\#(Int(rate))}"#)
            }
        } else {
            try await group.run()
        }
    }
}

/// `clowder-sink generate --env-file F --count N`: declares the configured sinks' queues and publishes N synthetic
/// `nginx_access` points to the exchange (benchmarks, smoke tests). Prints Σ requests.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Publish synthetic nginx_access points (benchmarks, smoke tests).")

    @OptionGroup var options: SettingsOptions

    @Option(help: "Messages to publish.")
    var count: Int = 100_000

    @Option(name: .customLong("label"), help: "Label for message ids and the agent tag.")
    var label: String = "bench"

    @Option(help: "Epoch milliseconds of the first point.")
    var start: Int64 = 1_795_953_600_000

    func run() async throws {
        let settings = try await options.load()
        let total = try await LoadGenerator.publish(settings: settings, count: count, run: label, startMilliseconds: start)
        print(#"{"published":\#(count),"sum_requests":\#(total)}"#)
    }
}

/// `clowder-sink check --env-file F`: validates the configuration and prints the sinks it would run.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Validate the configuration; exit 78 (EX_CONFIG) naming each bad key, its value and what is expected.")

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
            throw ExitCode(78)  // EX_CONFIG, as clowder-agent check
        } catch {
            var stderr = StandardError()
            print("cannot read the configuration: \(error)", to: &stderr)
            throw ExitCode(78)  // EX_CONFIG, as clowder-agent check
        }
    }

    func describe(_ d: SinkDefinition.DestinationSettings) -> String {
        switch d {
        case .influx(let c): "InfluxDB \(c.version.rawValue) at \(c.url) (\(c.version == .v1 ? "db \(c.database)" : "bucket \(c.bucket)"))"
        case .postgres(let url, let prefix, _, _): "PostgreSQL at \(redacted(url)) (tables \(prefix)points, \(prefix)events)"
        case .sqlite(let path, let prefix): "SQLite \(path) (tables \(prefix)points, \(prefix)events)"
        case .amplitude(let endpoint, _, let c): "Amplitude \(endpoint) (\(c.isEmpty ? "all categories" : c.sorted().joined(separator: ",")))"
        case .ga4(let endpoint, let id, _, let c): "GA4 \(endpoint) \(id) (\(c.isEmpty ? "all categories" : c.sorted().joined(separator: ",")))"
        }
    }

    func redacted(_ url: String) -> String {
        if url.contains(",") { return url.split(separator: ",", omittingEmptySubsequences: false).map { redacted(String($0)) }.joined(separator: ",") }
        guard let s = url.firstRange(of: "://"), let at = url[s.upperBound...].firstIndex(of: "@") else { return url }
        let info = url[s.upperBound..<at]
        guard let colon = info.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        #if canImport(Glibc)
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
