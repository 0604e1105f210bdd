#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The settings values the agent, the ingest and the sinks read (integers, seconds, booleans,
/// URLs, secret files), checked in one place so that the three programs word the same mistake
/// the same way:
///
/// ```
/// CLOWDER_SINK_BATCH_SIZE="lots": expected a whole number from 1 to 100000
/// CLOWDER_METRICS_PROBE_INTERVAL="often": expected a number of seconds from 1 to 86400, e.g. 30
/// ```
///
/// Each program keeps its own way of reporting (the agent throws the first problem with its
/// file and line, the sinks collect them all); the words after `expected` come from here.
package enum SettingValue {
    /// A value of the wrong form or out of range: what was expected instead (the words after
    /// `expected`, e.g. `a whole number of seconds from 1 to 86400`).
    package struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        /// What the value should be.
        package var expected: String
        /// - Parameter expected: what the value should be.
        package init(_ expected: String) { self.expected = expected }
        /// `expected …`.
        package var description: String { "expected \(expected)" }
    }

    /// The one line a program shows for a bad value: `KEY="value": expected …`
    /// (`KEY: expected …` when the key is missing).
    package static func message(key: String, value: String?, expected: String) -> String {
        "\(key)\(value.map { "=\"\($0)\"" } ?? ""): expected \(expected)"
    }

    /// A whole number in `range`.
    /// - Parameter unit: what it counts (`seconds`, `bytes`), shown in the message; nil for none.
    /// - Throws: ``Invalid`` `a whole number of <unit> from <low> to <high>`.
    package static func integer<T: FixedWidthInteger>(
        _ text: String, in range: ClosedRange<T>, unit: String? = nil
    ) throws(Invalid) -> T {
        guard let v = T(text), range.contains(v) else {
            throw Invalid("a whole number\(unit.map { " of \($0)" } ?? "") from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    /// A finite number of seconds in `range` (fractions allowed).
    /// - Throws: ``Invalid`` `a number of seconds from <low> to <high>, e.g. <example>`.
    package static func seconds(_ text: String, in range: ClosedRange<Double>) throws(Invalid) -> Double {
        try number(text, in: range, unit: "seconds", example: range.lowerBound < 1 ? "0.5" : "30")
    }

    /// A finite number in `range` (fractions allowed), e.g. a rate.
    /// - Throws: ``Invalid`` `a number of <unit> from <low> to <high>`.
    package static func number(
        _ text: String, in range: ClosedRange<Double>, unit: String? = nil, example: String? = nil
    ) throws(Invalid) -> Double {
        guard let d = Double(text), d.isFinite, range.contains(d) else {
            var expected = "a number\(unit.map { " of \($0)" } ?? "") from \(shown(range.lowerBound)) to \(shown(range.upperBound))"
            if let example, range.contains(Double(example) ?? .nan) { expected += ", e.g. \(example)" }
            throw Invalid(expected)
        }
        return d
    }

    /// `true`, `yes`, `1`, `on` or `false`, `no`, `0`, `off`, in any case.
    /// - Throws: ``Invalid`` `true or false`.
    package static func boolean(_ text: String) throws(Invalid) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw Invalid("true or false")
        }
    }

    /// An absolute URL with one of `schemes` and a host (RFC 3986 §4.3).
    /// - Throws: ``Invalid`` `an absolute http or https URL, e.g. http://host:port/path`.
    package static func url(_ text: String, schemes: [String]) throws(Invalid) -> String {
        guard let u = URL(string: text), let s = u.scheme?.lowercased(), schemes.contains(s), u.host?.isEmpty == false else {
            throw Invalid("an absolute \(schemes.joined(separator: " or ")) URL, e.g. \(schemes.first ?? "http")://host:port/path")
        }
        return text
    }

    /// The secret held in the file at `path` (``FileContents/secret(_:limit:)``: trailing
    /// whitespace removed, `read(2)` retried on `EINTR`).
    /// - Throws: ``Invalid`` `a readable, non-empty file holding the secret (<why not>)`.
    package static func secretFile(_ path: String) throws(Invalid) -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try FileContents.secret(path) } catch {
            throw Invalid("a readable, non-empty file holding the secret (\(error))")
        }
        guard !bytes.isEmpty else { throw Invalid("a readable, non-empty file holding the secret (the file is empty)") }
        return bytes
    }

    /// `30` for 30.0, `0.5` for 0.5.
    private static func shown(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
