#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The agent's settings file, checked line by line before its values are read.
///
/// Two spellings are accepted, with `#` comments and blank lines in both:
/// - `KEY=value` lines (an env file, as systemd's `EnvironmentFile=` reads it);
/// - flat YAML, `KEY: value` (the "YAML-like env file"); nested mappings and
///   lists are refused.
///
/// The values themselves are read through swift-configuration's providers
/// (``AgentConfiguration/load(envFile:environment:)``); this type only finds
/// syntax errors and unknown keys with their line numbers, which those
/// providers skip silently.
public struct SettingsFile: Sendable {
    /// The two accepted spellings.
    public enum Syntax: Sendable { case env, yaml }

    /// The file path.
    public var path: String
    /// Which spelling the file uses (by extension `.yaml`/`.yml`, else by its first setting).
    public var syntax: Syntax
    /// Every key with the line it is set on (1-based) and its raw value (quotes removed).
    public var entries: [String: (line: Int, value: String)]

    /// Reads and checks the file.
    /// - Throws: ``ConfigError`` `.unreadableFile` or `.syntax` naming the line.
    public init(path: String) throws {
        let text: String
        do {
            text = String(decoding: try FileContents.read(path), as: UTF8.self)
        } catch {
            // The system's reason (`No such file or directory`, `Permission denied`).
            throw ConfigError(.unreadableFile, source: path, expected: "cannot read the settings file: \(error)")
        }
        try self.init(path: path, text: text)
    }

    /// Checks settings given as text (`path` is used in messages and to pick the syntax).
    /// - Throws: ``ConfigError`` `.syntax`.
    public init(path: String, text: String) throws {
        self.path = path
        // By bytes: as Characters, "\r\n" is one grapheme and would not split at "\n".
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(Substring($0)) }
        let lower = path.lowercased()
        var syntax: Syntax? = lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") ? .yaml : nil
        var entries: [String: (line: Int, value: String)] = [:]
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            var line = Substring(raw)
            if line.hasSuffix("\r") {
                // systemd's EnvironmentFile= and swift-configuration's env-file reader keep the \r in the value.
                guard syntax == .yaml else {
                    throw ConfigError(
                        .syntax, source: "\(path):\(number)",
                        expected: "the line ends with a carriage return (Windows line endings); convert the file, e.g. `sed -i 's/\\r$//' \(path)`")
                }
                line = line.dropLast()
            }
            let trimmed = line.trimmingBlanks
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed == "---" { continue }
            let eq = trimmed.firstIndex(of: "=")
            let colon = trimmed.firstIndex(of: ":")
            if syntax == nil {
                if let eq, colon.map({ eq < $0 }) ?? true { syntax = .env } else { syntax = .yaml }
            }
            let where_ = "\(path):\(number)"
            let key: String
            var value: String
            switch syntax! {
            case .env:
                guard let eq else {
                    throw ConfigError(.syntax, source: where_, expected: "expected KEY=value, found \"\(trimmed.prefix(80))\"")
                }
                key = String(trimmed[..<eq]).trimmingBlanks
                if key.hasPrefix("export ") || key.hasPrefix("export\t") {
                    throw ConfigError(
                        .syntax, source: where_,
                        expected: "`export` is not supported: write \(key.dropFirst(7).trimmingBlanks)=… (systemd's EnvironmentFile= reads this file too)")
                }
                value = String(trimmed[trimmed.index(after: eq)...]).trimmingBlanks
            case .yaml:
                if line.first == " " || line.first == "\t" || trimmed.hasPrefix("- ") {
                    throw ConfigError(
                        .syntax, source: where_,
                        expected: "nested YAML is not supported: write flat `KEY: value` lines (lists as comma-separated strings)")
                }
                guard let colon else {
                    throw ConfigError(.syntax, source: where_, expected: "expected `KEY: value`, found \"\(trimmed.prefix(80))\"")
                }
                key = String(trimmed[..<colon]).trimmingBlanks
                value = String(trimmed[trimmed.index(after: colon)...]).trimmingBlanks
                if value.isEmpty {
                    // `KEY:` alone would start a nested mapping in YAML; we read it as empty.
                }
            }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(.syntax, source: where_, expected: "invalid key \"\(key)\": use letters, digits and _")
            }
            value = Self.unquote(value)
            if let earlier = entries[key] {
                // systemd would take the last silently; one of the two is a mistake.
                throw ConfigError(.syntax, key: key, source: where_, expected: "set twice (first on line \(earlier.line)); keep one")
            }
            entries[key] = (number, value)
        }
        self.syntax = syntax ?? .env
        self.entries = entries
    }

    /// Removes one pair of matching surrounding quotes (a ` # comment` may follow the closing
    /// quote), or an unquoted trailing ` # comment`.
    static func unquote(_ v: String) -> String {
        if v.count >= 2, let f = v.first, f == "\"" || f == "'", v.last == f {
            return String(v.dropFirst().dropLast())
        }
        if let f = v.first, f == "\"" || f == "'" {
            let rest = v.dropFirst()
            if let end = rest.firstIndex(of: f), rest[rest.index(after: end)...].trimmingBlanks.hasPrefix("#") {
                return String(rest[..<end])
            }
        }
        if let r = v.firstRange(of: " #") { return String(v[..<r.lowerBound]).trimmingBlanks }
        return v
    }
}
