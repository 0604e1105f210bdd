#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value that keeps the difference between integers and floating-point
/// numbers, which `JSONEncoder`/`JSONDecoder` lose (they write `1.0` as `1`).
///
/// The convention on the wire (RFC 8259 numbers): a number written without a
/// fraction or exponent is an integer (`.int`), any other is a `.double`;
/// ``JSONWriter`` always writes a double with a `.` or an exponent, so
/// InfluxDB's integer and float field types survive the trip agent → ingest →
/// RabbitMQ → sink.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value as a string, if it is one.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The value as an integer: an `.int`, or a `.double` with no fraction.
    public var intValue: Int64? {
        switch self {
        case .int(let v): v
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: Int64(d)
        default: nil
        }
    }
    /// The value as a double: a `.double` or an `.int`.
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .int(let v): Double(v)
        default: nil
        }
    }
    /// The value as a boolean, if it is one.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

    /// Member access on objects; `nil` otherwise.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Parses one JSON text (RFC 8259).
    /// - Throws: ``JSONParseError`` with the byte offset of the first problem.
    public init(parsing bytes: some Collection<UInt8>) throws {
        self = try Array(bytes).withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            return try parser.parseDocument()
        }
    }

    /// Parses one JSON text from a string.
    /// - Throws: ``JSONParseError``.
    public init(parsing text: String) throws {
        try self.init(parsing: Array(text.utf8))
    }

    /// The compact JSON text of this value, object keys sorted.
    public var jsonBytes: [UInt8] {
        var w = JSONWriter()
        w.write(self)
        return w.bytes
    }

    /// The compact JSON text as a `String`.
    public var jsonString: String { String(decoding: jsonBytes, as: UTF8.self) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}

/// A JSON text that could not be parsed.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    /// Byte offset of the problem in the input.
    public var offset: Int
    /// What was wrong.
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
