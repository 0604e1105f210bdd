import RawStructuredFieldValues

/// Builds the signature base of RFC 9421 §2.5 from the covered components,
/// the signature parameters and the message.
///
/// Derived components supported (RFC 9421 §2.2): `@method` (§2.2.1, the
/// method as sent, case-sensitive) and `@target-uri` (§2.2.2, the full target
/// URI as given). Any HTTP field may be covered (§2.1); component parameters
/// (`sf`, `key`, `bs`, `req`, `tr`) are not supported and are refused.
enum SignatureBase {
    /// The base as bytes, lines joined with `\n` and no trailing newline:
    /// `"<component>": <value>` per covered component, then
    /// `"@signature-params": <inner list>` (§2.3).
    /// - Throws: ``ModelError`` `.signature` for an unsupported, repeated or
    ///   malformed component, `.digest` when `content-digest` is covered but
    ///   absent, `.signature` for any other covered field that is absent.
    static func build(
        covered: InnerList, method: String, targetURI: String, fields: HTTPFieldLookup
    ) throws(ModelError) -> [UInt8] {
        var lines: [String] = []
        var seen: Set<String> = []
        for component in covered.bareInnerList {
            guard let name = component.rfc9651BareItem.stringValue else {
                throw ModelError(.signature, "a covered component is a \(component.rfc9651BareItem.typeName), not a String (RFC 9421 §2)")
            }
            guard component.rfc9651Parameters.isEmpty else {
                throw ModelError(.signature, "component parameters are not supported (RFC 9421 §2.1)")
            }
            guard name == name.lowercased(), !name.isEmpty else {
                throw ModelError(.signature, "a component name must be lowercase (RFC 9421 §2.1)")
            }
            guard seen.insert(name).inserted else {
                throw ModelError(.signature, "a component is covered twice (RFC 9421 §2.5)")
            }
            let value: String
            switch name {
            case "@method": value = method
            case "@target-uri": value = targetURI
            case "@signature-params":
                throw ModelError(.signature, "\"@signature-params\" must not be listed as a covered component (RFC 9421 §2.3)")
            default:
                if name.hasPrefix("@") {
                    throw ModelError(.signature, "a derived component other than @method and @target-uri is covered (not supported)")
                }
                guard let v = fields[name] else {
                    if name == "content-digest" {
                        throw ModelError(.digest, "Content-Digest is covered by the signature but absent (RFC 9530 §2)")
                    }
                    throw ModelError(.signature, "a covered field is absent from the request (RFC 9421 §2.5)")
                }
                value = v
            }
            try checkValue(value, of: name)
            lines.append(try serialized(StructuredFields.string(name)) + ": " + value)
        }
        let params: String
        do { params = try StructuredFields.serialize(covered) } catch {
            throw ModelError(.signature, "the signature parameters cannot be serialized (RFC 9421 §2.3): \(error)")
        }
        lines.append("\"@signature-params\": " + params)
        return Array(lines.joined(separator: "\n").utf8)
    }

    static func serialized(_ item: Item) throws(ModelError) -> String {
        do { return try StructuredFields.serialize(item) } catch {
            throw ModelError(.signature, "a component name cannot be serialized (RFC 9421 §2.1): \(error)")
        }
    }

    /// A component value must be visible ASCII, spaces and tabs (no CR, LF or
    /// other controls, RFC 9421 §2.5 step 2), and a derived one non-empty.
    static func checkValue(_ value: String, of name: String) throws(ModelError) {
        for b in value.utf8 where !(b == 0x09 || (0x20...0x7E).contains(b)) {
            throw ModelError(
                .signature, "the value of component \"\(name)\" holds byte 0x\(String(b, radix: 16)), not visible ASCII (RFC 9421 §2.5)")
        }
        if name.hasPrefix("@"), value.isEmpty {
            throw ModelError(.signature, "derived component \"\(name)\" is empty")
        }
    }
}
