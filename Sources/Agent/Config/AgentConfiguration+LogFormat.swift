import Parsers
import SystemSupport

extension AgentConfiguration {
    /// The recommended format (`deploy/nginx/clowder_metrics.conf`): combined plus
    /// `$request_time $upstream_response_time $connection $connection_requests $request_length`.
    public static let clowderMetricsLogFormat = LogFormat.clowderMetricsString

    /// The log format from `CLOWDER_METRICS_LOG_FORMAT`: `combined`, `clowder_metrics`,
    /// a name defined in `CLOWDER_METRICS_NGINX_CONFIG`, or a format string.
    /// - Throws: ``RuntimeError`` `.logFormat` naming the key and what is wrong.
    public func resolvedLogFormat() throws -> LogFormat {
        var formats: [String: LogFormat] = [:]
        do {
            if let path = nginxConfig {
                let data: [UInt8]
                do { data = try FileContents.read(path) } catch {
                    throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG=\"\(path)\": cannot read this file (\(error))")
                }
                let config = try NginxConfig(text: String(decoding: data, as: UTF8.self), file: path)
                formats.merge(config.logFormats) { _, new in new }
            }
            return try LogFormat.resolve(logFormat, formats: formats)
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError(.logFormat, "CLOWDER_METRICS_LOG_FORMAT=\"\(logFormat)\"", underlying: error)
        }
    }
}
