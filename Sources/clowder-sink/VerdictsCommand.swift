import ArgumentParser
import Logging
import ServiceLifecycle
import Sinks

/// `clowder-sink verdicts --env-file F`: the cross-region verdict consumer
/// (`VerdictService`): `service_status` rounds in, one `service_verdict` point
/// per target and period out, on the same exchange. Keys: `VerdictSettings`.
struct VerdictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verdicts",
        abstract: "Judge each target across regions (quorum) and publish service_verdict points to the exchange.",
        discussion: """
            Keys (process environment first, then --env-file): CLOWDER_SINK_AMQP_URL, CLOWDER_SINK_EXCHANGE, \
            CLOWDER_SINK_VERDICT_QUEUE (default <exchange>.verdicts.<host>; one per replica), \
            CLOWDER_SINK_VERDICT_QUORUM (2), _PERIOD (60 s), _DELAY (15 s), _SILENT_AFTER (120 s), \
            _FORGET_AFTER (86400 s), _WARMUP (SILENT_AFTER), CLOWDER_SINK_LOG_LEVEL (info).
            """)

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let settings: VerdictSettings
        do {
            settings = try VerdictSettings(reader: try await SinkSettings.reader(environmentFile: options.environmentFile))
        } catch let e as SinkError {
            throw ValidationError("configuration:\n\(e.message)")
        }
        Lifecycle.bootstrapLogging(level: settings.logLevel)
        let logger = Logger(label: "clowder-sink.verdicts")
        let service = try VerdictService(settings: settings, logger: logger)
        let group = Lifecycle.group(service, logger: logger)
        try await group.run()
    }
}
