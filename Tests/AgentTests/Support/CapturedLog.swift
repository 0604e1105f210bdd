import Logging
import Synchronization

/// Collects what a `Logger` logs, for tests that check a warning was (or was not) logged.
///
/// ```swift
/// let log = CapturedLog()
/// let d = try Delivery(configuration: c, agent: a, logger: log.logger)
/// #expect(log.messages(.warning).count == 1)
/// ```
final class CapturedLog: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    var all: [Entry] { entries.withLock { $0 } }

    func messages(_ level: Logger.Level) -> [Entry] { all.filter { $0.level == level } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var m: [String: String] = [:]
            for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { m[k] = "\(v)" }
            log.entries.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: m)) }
        }
    }
}
