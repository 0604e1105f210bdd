import RawStructuredFieldValues

/// The parts of Structured Field Values (RFC 8941, RFC 9651) that HTTP
/// message signatures (RFC 9421) and digests (RFC 9530) use, parsed and
/// serialized by `apple/swift-http-structured-headers` (`RawStructuredFieldValues`),
/// never by our own code.
///
/// The library's parser is linear in the field's length except for its
/// `OrderedMap`, which looks a repeated key up linearly (RFC 8941 §4.2.2
/// "overwrite in place"): quadratic in the number of members. Every field
/// handed to it is therefore first bounded to ``maxFieldBytes`` (4096 bytes,
/// at most about 2000 one-letter members: well under a millisecond), and the
/// ingest's HTTP decoder bounds all headers together before any of this runs.
enum StructuredFields {
    /// Longest `Signature-Input`, `Signature` or `Content-Digest` value parsed, in bytes.
    /// A real one is about 150 bytes (one signature, four components).
    static let maxFieldBytes = 4096

    /// Why a field value was not parsed: too long, or the library's error.
    struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        var description: String
    }

    /// Parses a Dictionary (RFC 8941 §3.2, §4.2.2).
    /// - Throws: ``Failure`` when longer than ``maxFieldBytes`` or malformed.
    static func dictionary(_ text: String) throws(Failure) -> OrderedMap<String, ItemOrInnerList> {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxFieldBytes else { throw Failure(description: "longer than \(maxFieldBytes) bytes") }
        var parser = StructuredFieldValueParser(bytes)
        do { return try parser.parseDictionaryFieldValue() } catch { throw Failure(description: "\(error)") }
    }

    /// Parses an Item (RFC 8941 §3.3, §4.2.3).
    /// - Throws: ``Failure`` when longer than ``maxFieldBytes`` or malformed.
    static func item(_ text: String) throws(Failure) -> Item {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxFieldBytes else { throw Failure(description: "longer than \(maxFieldBytes) bytes") }
        var parser = StructuredFieldValueParser(bytes)
        do { return try parser.parseItemFieldValue() } catch { throw Failure(description: "\(error)") }
    }

    /// The serialization of an Inner List with its parameters (RFC 8941 §4.1.1.1),
    /// as RFC 9421 §2.3 puts it into `@signature-params`: a List of that one member.
    /// - Throws: ``Failure`` for a value that cannot be serialized (e.g. a non-ASCII String).
    static func serialize(_ list: InnerList) throws(Failure) -> String {
        var s = StructuredFieldValueSerializer()
        do { return String(decoding: try s.writeListFieldValue([.innerList(list)]), as: UTF8.self) } catch {
            throw Failure(description: "\(error)")
        }
    }

    /// The serialization of an Item (RFC 8941 §4.1.3), e.g. a component name `"@method"`.
    /// - Throws: ``Failure`` for a value that cannot be serialized.
    static func serialize(_ item: Item) throws(Failure) -> String {
        var s = StructuredFieldValueSerializer()
        do { return String(decoding: try s.writeItemFieldValue(item), as: UTF8.self) } catch {
            throw Failure(description: "\(error)")
        }
    }

    /// A bare String item without parameters.
    static func string(_ s: String) -> Item { Item(bareItem: .string(s), parameters: OrderedMap<String, RFC9651BareItem>()) }
}

extension RFC9651BareItem {
    /// The value when a String.
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The value when an Integer.
    var integerValue: Int64? { if case .integer(let i) = self { i } else { nil } }
    /// The decoded bytes when a Byte Sequence of valid base64 (RFC 8941 §3.3.5), else nil.
    var byteSequenceValue: [UInt8]? {
        if case .undecodedByteSequence(let s) = self { return Base64.decode(Array(s.utf8)) }
        return nil
    }
    /// The type's name in RFC 8941's words, for error messages (never the value itself).
    var typeName: String {
        switch self {
        case .bool: "Boolean"
        case .integer: "Integer"
        case .decimal: "Decimal"
        case .string: "String"
        case .undecodedByteSequence: "Byte Sequence"
        case .token: "Token"
        case .date: "Date"
        case .displayString: "Display String"
        }
    }
}
