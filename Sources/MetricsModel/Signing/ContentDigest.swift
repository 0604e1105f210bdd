import Crypto
import RawStructuredFieldValues

/// The `Content-Digest` field (RFC 9530 §2): a Structured Fields Dictionary
/// of hash algorithm → Byte Sequence, computed over the message content as
/// sent, i.e. after content coding — for a batch, over the gzip body.
///
/// ```swift
/// let field = ContentDigest.fieldValue(for: gzipBody)   // "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
/// try ContentDigest.verify(field, body: receivedBytes)
/// ```
public enum ContentDigest {
    /// The field name, `Content-Digest`.
    public static let fieldName = "Content-Digest"

    /// The field value for `body`: `sha-256=:<base64 of SHA-256(body)>:` (RFC 9530 §2, §5).
    public static func fieldValue(for body: some Collection<UInt8>) -> String {
        let digest = SHA256.hash(data: Array(body))
        return "sha-256=:" + Base64.encode(Array(digest)) + ":"
    }

    /// Checks a received `Content-Digest` value against the received bytes
    /// (RFC 9530 §2): every `sha-256` and `sha-512` member present must match,
    /// compared in constant time; members with other algorithms are ignored
    /// (RFC 9530 §2), but at least one supported member must be present.
    /// - Throws: ``ModelError`` with code `.digest`, saying whether the field
    ///   is malformed, has no supported algorithm, or does not match.
    public static func verify(_ fieldValue: String, body: some Collection<UInt8>) throws(ModelError) {
        let dictionary: OrderedMap<String, ItemOrInnerList>
        do {
            dictionary = try StructuredFields.dictionary(fieldValue)
        } catch {
            throw ModelError(.digest, "Content-Digest is not a Structured Fields Dictionary (RFC 9530 §2): \(error)")
        }
        let bytes = Array(body)
        var checked = 0
        for (algorithm, member) in dictionary {
            let expectedLength: Int
            let actual: [UInt8]
            switch algorithm {
            case "sha-256":
                expectedLength = 32
                actual = Array(SHA256.hash(data: bytes))
            case "sha-512":
                expectedLength = 64
                actual = Array(SHA512.hash(data: bytes))
            default: continue
            }
            guard case .item(let item) = member, let given = item.rfc9651BareItem.byteSequenceValue else {
                throw ModelError(.digest, "Content-Digest member \(algorithm) must be a Byte Sequence (:base64:)")
            }
            guard given.count == expectedLength else {
                throw ModelError(.digest, "Content-Digest \(algorithm) has \(given.count) bytes, expected \(expectedLength)")
            }
            guard constantTimeEqual(given, actual) else {
                throw ModelError(
                    .digest, "Content-Digest \(algorithm) does not match the \(bytes.count) body bytes received")
            }
            checked += 1
        }
        if checked == 0 {
            throw ModelError(.digest, "Content-Digest has no sha-256 or sha-512 member (RFC 9530 §2, §5)")
        }
    }
}

/// Compares two byte arrays in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for k in 0..<a.count { diff |= a[k] ^ b[k] }
    return diff == 0
}
