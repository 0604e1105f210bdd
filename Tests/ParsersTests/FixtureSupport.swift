import Foundation
import Parsers

/// Reads the real-log fixtures in `Tests/Fixtures` (see SOURCES.md there).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The file's lines, without newlines (a last line without a newline included).
    static func lines(_ name: String) throws -> [[UInt8]] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        var lines = [UInt8](data).split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// The ingress-nginx log_format, from ingress-nginx's documentation (quoted in SOURCES.md).
    static let ingressFormat =
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id"#
}

/// One parsed line with its bytes, so tests can read fields as strings.
struct Parsed {
    let record: AccessRecord
    let bytes: [UInt8]

    func string(_ f: AccessField) -> String? { bytes.withUnsafeBytes { record.string(f, in: $0) } }
    func list(_ f: AccessField) -> [String?]? { bytes.withUnsafeBytes { record.list(f, in: $0) } }
    func client() -> String? { bytes.withUnsafeBytes { record.clientAddress(in: $0) } }
    func addresses() -> [String] { bytes.withUnsafeBytes { record.remoteAddresses(in: $0) } }
    func raw(_ f: AccessField) -> [UInt8]? { bytes.withUnsafeBytes { record.bytes(f, in: $0).map(Array.init) } }
    func custom(_ i: Int) -> String? { bytes.withUnsafeBytes { record.string(custom: i, in: $0) } }
}

extension AccessLogParser {
    /// Parses every line; `nil` for a malformed one.
    func parseAll(_ lines: [[UInt8]]) -> [Parsed?] {
        lines.map { line in
            var r = makeRecord()
            let ok = line.withUnsafeBytes { parse($0, into: &r) }
            return ok ? Parsed(record: r, bytes: line) : nil
        }
    }

    func parsed(_ line: String) -> Parsed? {
        parse(line).map { Parsed(record: $0.record, bytes: $0.bytes) }
    }
}
