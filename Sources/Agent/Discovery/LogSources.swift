#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Parsers
import SystemSupport

/// One set of access logs tailed with one format: a LogTail and an aggregation pipeline of the
/// collector.
struct LogSourceSpec: Sendable, Hashable {
    /// Names the saved state of this source (empty: the single source of `CLOWDER_METRICS_ACCESS_LOG`,
    /// whose state keys are the ones earlier versions wrote).
    var key: String
    /// Paths or globs.
    var paths: [String]
    /// The format its lines are written in.
    var format: LogFormat
    /// Tags of its points: the agent's, plus `access_log` (the path) for a discovered log.
    var tags: [String: String]
    /// The `server_name`s of `CLOWDER_METRICS_NGINX_CONFIG`, which alone may become `vhost` tags
    /// (``VhostLimit``); nil without an NGINX configuration (the first hosts seen).
    var serverNames: [String]? = nil
}

/// What `CLOWDER_METRICS_NGINX_CONFIG` says NGINX writes, read once (at start and on each reload).
struct DiscoveredLogs: Sendable {
    /// One source per access log file (or glob).
    var specs: [LogSourceSpec]
    /// Every `access_log` directive and what became of it.
    var findings: [NginxLogDiscovery.Finding]
    /// The files whose change triggers a reload: the settings' file, or the configuration files
    /// `nginx -T` says it read.
    var watched: [String]
}

extension AgentConfiguration {
    /// Whether the agent finds its logs in NGINX's configuration: `CLOWDER_METRICS_NGINX_CONFIG`
    /// set and `CLOWDER_METRICS_ACCESS_LOG` empty.
    public var discoversLogs: Bool { accessLogs.isEmpty && nginxConfig != nil }

    /// The text of NGINX's configuration: the file `CLOWDER_METRICS_NGINX_CONFIG` names, or with
    /// `auto` the standard output of `CLOWDER_METRICS_NGINX_COMMAND` (default `nginx -T`).
    /// - Returns: the text, where it came from (for messages), and the files to watch for changes.
    /// - Throws: ``RuntimeError`` `.logFormat` when the file cannot be read or the command fails
    ///   (with its exit status and what it wrote to standard error).
    func nginxConfigText() throws -> (text: String, origin: String, watched: [String]) {
        guard let setting = nginxConfig else { throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG is not set") }
        if setting == "auto" {
            let command = nginxCommand
            let shown = command.joined(separator: " ")
            let r = try CommandOutput.run(command)
            guard r.status == 0 else {
                let err = String(decoding: r.stderr, as: UTF8.self).trimmingWhitespace
                throw RuntimeError(.logFormat,
                                   "CLOWDER_METRICS_NGINX_CONFIG=auto: `\(shown)` (CLOWDER_METRICS_NGINX_COMMAND) exited with \(r.status): \(err)")
            }
            let text = String(decoding: r.stdout, as: UTF8.self)
            return (text, "`\(shown)`", NginxConfig.configurationFilesListed(in: text))
        }
        let bytes: [UInt8]
        do { bytes = try FileContents.read(setting) } catch {
            throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG=\"\(setting)\": cannot read this file (\(error))")
        }
        return (String(decoding: bytes, as: UTF8.self), setting, [setting])
    }

    /// The access logs NGINX writes and their formats (``discoversLogs``).
    /// - Throws: ``RuntimeError`` `.logFormat` when the configuration cannot be read or parsed, or
    ///   names no access log the agent can tail (the message lists every directive found).
    func discoverLogs() throws -> DiscoveredLogs {
        let (text, origin, watched) = try nginxConfigText()
        let config: NginxConfig
        do { config = try NginxConfig(text: text, file: origin) } catch {
            throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG", underlying: error)
        }
        let discovery = NginxLogDiscovery(config: config)
        guard !discovery.logs.isEmpty else {
            let found = discovery.findings.isEmpty ? "no access_log directive at all (NGINX then writes its compiled-in default, see `nginx -V` --http-log-path; set CLOWDER_METRICS_ACCESS_LOG)"
                : discovery.findings.map(\.description).joined(separator: "; ")
            throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG: \(origin) names no access log file to tail: \(found)")
        }
        let specs = discovery.logs.map { log in
            var tags = baseTags
            tags["access_log"] = log.path
            return LogSourceSpec(key: log.path, paths: [log.path], format: log.format, tags: tags, serverNames: config.serverNames)
        }
        return DiscoveredLogs(specs: specs, findings: discovery.findings, watched: watched)
    }

    /// The sources the collector tails: the discovered logs, or `CLOWDER_METRICS_ACCESS_LOG` with
    /// `CLOWDER_METRICS_LOG_FORMAT`; none for a probe-only agent.
    func logSources() throws -> DiscoveredLogs {
        if discoversLogs { return try discoverLogs() }
        guard !accessLogs.isEmpty else { return DiscoveredLogs(specs: [], findings: [], watched: []) }
        let spec = LogSourceSpec(key: "", paths: accessLogs, format: try resolvedLogFormat(), tags: baseTags,
                                 serverNames: try resolvedVhostLimit().serverNames)
        return DiscoveredLogs(specs: [spec], findings: [], watched: [])
    }
}

/// Identity, size and modification time of files, to notice that one changed.
struct FileFingerprint: Equatable, Sendable {
    private var entries: [[Int64]]

    /// Takes the fingerprint of `paths` now (a missing file counts as all zeros).
    init(_ paths: [String]) {
        entries = paths.map { p in
            var st = stat()
            guard stat(p, &st) == 0 else { return [0, 0, 0, 0, 0] }
            return [Int64(st.st_dev), Int64(st.st_ino), Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)]
        }
    }
}

extension AgentConfiguration {
    /// For `check`: the access logs found in the NGINX configuration with their formats, and one
    /// line per `access_log` directive saying what the agent does with it.
    /// - Throws: ``RuntimeError`` as the agent's start would.
    public func discoveryReport() throws -> (logs: [(path: String, format: LogFormat)], findings: [String]) {
        let found = try discoverLogs()
        return (found.specs.map { ($0.key, $0.format) }, found.findings.map(\.description))
    }
}
