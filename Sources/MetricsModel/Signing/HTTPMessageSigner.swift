import Crypto
import RawStructuredFieldValues

/// Signs an agent's request the way the ingest verifies it: HTTP Message
/// Signatures (RFC 9421) with HMAC-SHA256 over
/// `"@method" "@target-uri" "content-digest" "idempotency-key"`, plus the
/// `Content-Digest` of the body (RFC 9530 §2).
///
/// The headers it produces (RFC 9421 §4.1, §4.2):
/// ```
/// Content-Digest: sha-256=:<base64>:
/// Idempotency-Key: <batch id>
/// Signature-Input: sig1=("@method" "@target-uri" "content-digest" "idempotency-key");created=1732900000;keyid="agent-1";alg="hmac-sha256"
/// Signature: sig1=:<base64 HMAC-SHA256 of the signature base>:
/// ```
///
/// ```swift
/// let signer = HTTPMessageSigner(keyID: "agent-1", secret: Array(secretFileBytes))
/// let signed = try signer.sign(targetURI: "https://ingest.example.org/v1/batches",
///                              body: gzipBody, idempotencyKey: batch.id, created: nowSeconds)
/// for (name, value) in signed.fields { request.addHeader(name, value) }
/// ```
public struct HTTPMessageSigner: Sendable {
    /// The components every batch request covers, in order (RFC 9421 §2).
    public static let coveredComponents = ["@method", "@target-uri", "content-digest", "idempotency-key"]
    /// The algorithm name sent as `alg` (RFC 9421 §6.2.2: `hmac-sha256`).
    public static let algorithm = "hmac-sha256"

    /// The `keyid` parameter: the name under which the ingest knows the secret.
    public let keyID: String
    /// The signature label (the Dictionary key in `Signature-Input` and `Signature`).
    public let label: String
    private let secret: [UInt8]

    /// - Parameters:
    ///   - keyID: `keyid` (RFC 9421 §2.3); must be printable ASCII.
    ///   - secret: the shared HMAC secret bytes (RFC 9421 §3.3.3).
    ///   - label: the signature label, default `sig1`.
    public init(keyID: String, secret: [UInt8], label: String = "sig1") {
        self.keyID = keyID
        self.label = label
        self.secret = secret
    }

    /// Signs one request (RFC 9421 §3.1: derive the signature base of §2.5,
    /// then HMAC-SHA256 it with the shared secret).
    /// - Parameters:
    ///   - method: the request method, default `POST`.
    ///   - targetURI: the full target URI the request is sent to, e.g.
    ///     `https://ingest.example.org/v1/batches` (RFC 9421 §2.2.2).
    ///   - body: the exact bytes sent (for a batch, the gzip body).
    ///   - idempotencyKey: the batch id, sent as `Idempotency-Key`.
    ///   - created: signature creation time, Unix seconds (RFC 9421 §2.3).
    /// - Returns: the four header fields to add to the request.
    /// - Throws: ``ModelError`` `.signature` when a value cannot go into a
    ///   signature base (control or non-ASCII characters, RFC 9421 §2.5).
    public func sign(
        method: String = "POST", targetURI: String, body: some Collection<UInt8>, idempotencyKey: String, created: Int64
    ) throws(ModelError) -> SignedFields {
        let digest = ContentDigest.fieldValue(for: body)
        let fields = HTTPFieldLookup([("content-digest", digest), ("idempotency-key", idempotencyKey)])
        for b in keyID.utf8 where !(0x20...0x7E).contains(b) {
            throw ModelError(.signature, "keyid holds a byte outside printable ASCII")
        }
        var params = OrderedMap<String, RFC9651BareItem>()
        params["created"] = .integer(created)
        params["keyid"] = .string(keyID)
        params["alg"] = .string(Self.algorithm)
        var items = BareInnerList()
        for c in Self.coveredComponents { items.append(StructuredFields.string(c)) }
        let covered = InnerList(bareInnerList: items, parameters: params)
        let base = try SignatureBase.build(covered: covered, method: method, targetURI: targetURI, fields: fields)
        let mac = HMAC<SHA256>.authenticationCode(for: base, using: SymmetricKey(data: secret))
        let input: String
        do { input = try StructuredFields.serialize(covered) } catch {
            throw ModelError(.signature, "the signature parameters cannot be serialized: \(error)")
        }
        return SignedFields(
            contentDigest: digest, idempotencyKey: idempotencyKey,
            signatureInput: label + "=" + input,
            signature: label + "=:" + Base64.encode(Array(mac)) + ":",
            signatureBase: String(decoding: base, as: UTF8.self))
    }
}

/// The header fields a signed request carries (RFC 9421 §4, RFC 9530 §2).
public struct SignedFields: Sendable, Hashable {
    /// `Content-Digest` value, `sha-256=:…:`.
    public var contentDigest: String
    /// `Idempotency-Key` value: the batch id.
    public var idempotencyKey: String
    /// `Signature-Input` value, `sig1=(…);created=…;keyid="…";alg="hmac-sha256"`.
    public var signatureInput: String
    /// `Signature` value, `sig1=:…:`.
    public var signature: String
    /// The signature base that was signed (RFC 9421 §2.5), for debugging and tests.
    public var signatureBase: String

    /// The four fields as (name, value) pairs in the order to send them.
    public var fields: [(name: String, value: String)] {
        [
            ("Content-Digest", contentDigest), ("Idempotency-Key", idempotencyKey),
            ("Signature-Input", signatureInput), ("Signature", signature),
        ]
    }
}
