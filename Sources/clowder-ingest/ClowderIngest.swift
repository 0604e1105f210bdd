import ArgumentParser
import Ingest

/// `clowder-ingest`: the central HTTP endpoint agents post their signed batches to.
@main
struct ClowderIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clowder-ingest",
        abstract: "Verify signed metric batches and Clowder events and publish them to RabbitMQ (or a local journal).",
        subcommands: [ServeCommand.self, CheckCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

/// The option every subcommand takes.
struct EnvFileOption: ParsableArguments {
    @Option(name: .customLong("env-file"), help: "KEY=value settings file (CLOWDER_INGEST_*); the process environment wins.")
    var envFile: String?
}
