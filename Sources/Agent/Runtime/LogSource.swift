import Parsers

/// One set of access logs the collector tails with one format: its ``LogTail`` and its
/// ``AccessLogPipeline``, and their saved state.
///
/// State keys: ``StateKey/logTail(source:)`` and ``StateKey/pipeline(source:)``.
final class LogSource {
    let spec: LogSourceSpec
    let tail: LogTail
    let pipeline: AccessLogPipeline
    /// Malformed-line samples of the pipeline already logged (it keeps the first 5).
    var loggedMalformedSamples = 0

    static func tailKey(_ key: String) -> StateKey { .logTail(source: key) }
    static func pipelineKey(_ key: String) -> StateKey { .pipeline(source: key) }

    /// Opens the source, resuming from its entries in `state` (which are removed from it: from
    /// now on the source's own state is what is saved).
    /// - Throws: ``RuntimeError`` `.logFormat` (format or saved windows unusable) or `.accessLog`
    ///   (a path that cannot be tailed), naming the setting and the path.
    init(spec: LogSourceSpec, configuration: AgentConfiguration, state: inout [StateKey: [UInt8]]) throws {
        self.spec = spec
        let pipelineConfiguration = AccessLogPipelineConfiguration(
            logFormat: spec.format, prefix: configuration.contextPrefix, windowSeconds: configuration.windowSeconds,
            latenessSeconds: configuration.allowedLatenessSeconds, tags: spec.tags, emitEvents: configuration.emitEvents,
            vhostLimit: spec.serverNames.map { VhostLimit(serverNames: $0, maxVhosts: configuration.maxVhosts) }
                ?? VhostLimit(maxVhosts: configuration.maxVhosts), remoteUserKey: try configuration.remoteUserKey(),
            topResources: configuration.topResources)
        let setting = spec.key.isEmpty ? "CLOWDER_METRICS_ACCESS_LOG" : "access log \(spec.key) (from CLOWDER_METRICS_NGINX_CONFIG)"
        do {
            if let saved = state[Self.pipelineKey(spec.key)] {
                pipeline = try AccessLogPipeline(configuration: pipelineConfiguration, snapshot: saved)
            } else {
                pipeline = try AccessLogPipeline(configuration: pipelineConfiguration)
            }
        } catch {
            throw RuntimeError(.logFormat, "\(setting): cannot use the saved aggregation state or the log format", underlying: error)
        }
        do {
            if let saved = state[Self.tailKey(spec.key)] {
                tail = try LogTail(paths: spec.paths, options: configuration.logTailOptions, checkpointData: saved)
            } else {
                tail = try LogTail(paths: spec.paths, options: configuration.logTailOptions)
            }
        } catch {
            throw RuntimeError(.accessLog, "cannot tail \(setting)", underlying: error)
        }
        state[Self.tailKey(spec.key)] = nil
        state[Self.pipelineKey(spec.key)] = nil
    }
}
