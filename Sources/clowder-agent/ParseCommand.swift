import Agent
import ArgumentParser
import Parsers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// `clowder-agent parse FILE…`: one pass over access logs, like `goaccess` or `mtail --one_shot`.
///
/// Prints totals and one row per window (and vhost) as a table, or as JSON with `--json`, plus
/// the number of malformed lines and up to 5 of them with their file and line number. Exits
/// non-zero, naming the file or format, when a file cannot be read or the format is bad.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse NGINX access logs in one pass and print per-window Clowder metrics.",
        discussion: """
            The format is `combined` unless given: --log-format takes a name (`combined`, \
            `clowder_metrics`, or a name defined in --nginx-config) or a format string with $variables. With --nginx-config (the \
            output of `nginx -T`), the format that the access_log directive for each file writes is used (matched by path, \
            by a path with variables, or by a rotated name such as access.log.1 or access.log.2.gz); when no access_log \
            names the files, the format all access_log directives write.
            """
    )

    @Argument(help: "Access log files to read, in order.")
    var files: [String]

    @Option(name: .customLong("log-format"), help: "A log_format name or string (default: combined).")
    var logFormat: String?

    @Option(name: .customLong("nginx-config"), help: "`nginx -T` output (or nginx.conf) to read log_format directives from.")
    var nginxConfig: String?

    @Option(help: "Window length in seconds.")
    var window: Int = 60

    @Option(help: "Allowed lateness in seconds.")
    var lateness: Int = 30

    @Option(help: "Clowder's context prefix, e.g. /clowder.")
    var prefix: String = ""

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let format: LogFormat
        do {
            if let path = nginxConfig {
                let text = try readText(path)
                let config = try NginxConfig(text: text, file: path)
                if let name = logFormat, name.contains("$") {
                    format = try LogFormat(string: name)
                } else if logFormat == nil, let picked = try Self.formatOfFiles(files, config: config, file: path) {
                    format = picked
                } else {
                    format = try config.selectFormat(name: logFormat)
                }
            } else {
                format = try LogFormat.resolve(logFormat ?? "combined")
            }
        } catch let e as ParserError {
            throw ParseFailure(e.description)
        }
        let config = AccessLogPipelineConfiguration(logFormat: format, prefix: prefix, windowSeconds: window,
                                                    latenessSeconds: lateness)
        let builder: AccessLogReportBuilder
        do {
            builder = try AccessLogReportBuilder(configuration: config)
        } catch let e as ParserError {
            throw ParseFailure("bad log format \"\(format.name ?? format.string)\": \(e)")
        } catch let e as AggregationError {
            throw ParseFailure(e.description)
        }
        for file in files {
            do {
                try builder.addFile(path: file)
            } catch let e as AggregationError {
                throw ParseFailure(e.message)
            }
        }
        let report = builder.finish()
        if json {
            print(report.json.jsonString)
        } else {
            print(report.table(), terminator: "")
        }
    }

    /// The format the configuration's `access_log` directives write each of `files` in (matched by
    /// path, glob or rotated name, see ``NginxLogDiscovery/log(for:)``); nil when none of them is
    /// named by an `access_log`.
    /// - Throws: when the files are written in different formats (parse them one at a time).
    static func formatOfFiles(_ files: [String], config: NginxConfig, file: String) throws -> LogFormat? {
        let discovery = NginxLogDiscovery(config: config)
        var picked: (file: String, log: NginxLogDiscovery.Log)?
        for f in files {
            guard let log = discovery.log(for: f) else { continue }
            if let p = picked, p.log.format != log.format {
                throw ParseFailure(
                    "\(file): \(p.file) is written in log_format \(p.log.format.name ?? "?") (line \(p.log.lines[0])) and \(f) in \(log.format.name ?? "?") (line \(log.lines[0])): parse them one at a time")
            }
            if picked == nil { picked = (f, log) }
        }
        return picked?.log.format
    }

    private func readText(_ path: String) throws -> String {
        do { return String(decoding: try FileContents.read(path, limit: 256 << 20), as: UTF8.self) } catch {
            throw ParseFailure("cannot read \(path): \(error)")
        }
    }
}

/// A failure of `parse`, printed as `Error: <message>` with exit status 1 (no usage text).
private struct ParseFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
