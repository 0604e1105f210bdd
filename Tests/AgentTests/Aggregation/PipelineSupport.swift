import Agent
import MetricsModel

extension AccessLogPipeline {
    /// Adds a line given as a `String`.
    @discardableResult
    func add(_ line: String) -> LineOutcome {
        Array(line.utf8).withUnsafeBytes { add(line: $0) }
    }
}

extension Point {
    /// An integer field, or nil.
    func int(_ name: String) -> Int64? { fields[name]?.intValue }
}
