#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import RawStructuredFieldValues

/// Verifies a signed request as RFC 9421 §3.2 describes, then its
/// `Content-Digest` against the bytes received (RFC 9530 §2). The agent's
/// tests and the ingest use this same type.
///
/// Steps, in order, and the ``ModelError`` code each failure throws:
/// 1. `Signature-Input` and `Signature` present and valid Structured Fields
///    Dictionaries (RFC 8941 §3.2) with a common label whose covered
///    components include every required component → `.signature`.
/// 2. Signature parameters (RFC 9421 §2.3): `created` an Integer, `keyid` a
///    String, `alg` absent or `"hmac-sha256"` → `.signature`; `created`
///    within ±`allowedSkew` of `now`, `expires` (if any) not past → `.expired`.
/// 3. `keyid` known to the key lookup → `.unknownKey`.
/// 4. The signature base (RFC 9421 §2.5) rebuilt from the received request
///    and the HMAC-SHA256 compared in constant time → `.signature`
///    (a covered `content-digest` that is absent → `.digest`).
/// 5. `Content-Digest` matches the body bytes as received (before any
///    content decoding) → `.digest`.
///
/// ```swift
/// let verifier = HTTPMessageVerifier { keyID in keys[keyID] }
/// let verified = try verifier.verify(method: "POST", targetURI: "https://ingest.example.org/v1/batches",
///                                    headers: request.headerPairs, body: rawBody, now: nowSeconds)
/// // verified.idempotencyKey is the batch id
/// ```
public struct HTTPMessageVerifier: Sendable {
    /// Components a signature must cover; default ``HTTPMessageSigner/coveredComponents``.
    public var requiredComponents: [String]
    /// Allowed distance between `created` and `now`, seconds (default 300).
    public var allowedSkew: Double
    /// keyid → HMAC secret, nil for an unknown key.
    public var keyLookup: @Sendable (_ keyID: String) -> [UInt8]?

    /// - Parameters:
    ///   - allowedSkew: seconds `created` may differ from `now` either way (default 300).
    ///   - requiredComponents: components the signature must cover.
    ///   - keyLookup: the secret for a `keyid`, or nil when unknown.
    public init(
        allowedSkew: Double = 300, requiredComponents: [String] = HTTPMessageSigner.coveredComponents,
        keyLookup: @escaping @Sendable (_ keyID: String) -> [UInt8]?
    ) {
        self.allowedSkew = allowedSkew
        self.requiredComponents = requiredComponents
        self.keyLookup = keyLookup
    }

    /// Verifies one request: ``verifyHeaders(method:targetURI:headers:now:)``, then the
    /// `Content-Digest` against `body` (step 5).
    /// - Parameters:
    ///   - method: the request method as received, e.g. `POST`.
    ///   - targetURI: the full target URI the client addressed (RFC 9421 §2.2.2),
    ///     e.g. `https://ingest.example.org/v1/batches` — behind a proxy, the public URI.
    ///   - headers: every received header field line (name in any case); repeated
    ///     names are combined in order (RFC 9421 §2.1).
    ///   - body: the content bytes as received (still gzip-encoded).
    ///   - now: the verifier's clock, Unix seconds.
    /// - Returns: the verified signature's label, keyid, created and idempotency key.
    /// - Throws: ``ModelError`` with code `.signature`, `.digest`, `.expired` or
    ///   `.unknownKey` and a message naming the header or parameter at fault.
    public func verify(
        method: String, targetURI: String, headers: [(name: String, value: String)], body: some Collection<UInt8>,
        now: Int64
    ) throws(ModelError) -> VerifiedSignature {
        let verified = try verifyHeaders(method: method, targetURI: targetURI, headers: headers, now: now)
        try ContentDigest.verify(verified.contentDigest ?? "", body: body)
        return verified
    }

    /// Steps 1 to 4 — everything but the body: a server can refuse a request
    /// whose signature does not verify before it reads (or buffers) any body byte,
    /// then check ``VerifiedSignature/contentDigest`` with ``ContentDigest/verify(_:body:)``.
    ///
    /// The messages of the errors thrown name the header and parameter at
    /// fault but never repeat a value the client sent (no echo of input).
    /// - Parameters: as ``verify(method:targetURI:headers:body:now:)`` without the body.
    /// - Returns: the verified signature; its `contentDigest` is the covered `Content-Digest` value.
    /// - Throws: ``ModelError`` with code `.signature`, `.digest` (a covered
    ///   `content-digest` absent), `.expired` or `.unknownKey`.
    public func verifyHeaders(
        method: String, targetURI: String, headers: [(name: String, value: String)], now: Int64
    ) throws(ModelError) -> VerifiedSignature {
        let fields = HTTPFieldLookup(headers)
        guard let inputValue = fields["signature-input"] else {
            throw ModelError(.signature, "missing Signature-Input header (RFC 9421 §4.1)")
        }
        guard let signatureValue = fields["signature"] else {
            throw ModelError(.signature, "missing Signature header (RFC 9421 §4.2)")
        }
        let inputs: OrderedMap<String, ItemOrInnerList>
        let signatures: OrderedMap<String, ItemOrInnerList>
        do { inputs = try StructuredFields.dictionary(inputValue) } catch {
            throw ModelError(.signature, "Signature-Input is not a Structured Fields Dictionary (RFC 9421 §4.1): \(error)")
        }
        do { signatures = try StructuredFields.dictionary(signatureValue) } catch {
            throw ModelError(.signature, "Signature is not a Structured Fields Dictionary (RFC 9421 §4.2): \(error)")
        }

        // Step 1: choose the signature that covers what we require (RFC 9421 §3.2 steps 1-3).
        var chosen: (label: String, covered: InnerList)?
        for (label, member) in inputs {
            guard case .innerList(let list) = member else { continue }
            let names = Set(list.bareInnerList.compactMap { $0.rfc9651Parameters.isEmpty ? $0.rfc9651BareItem.stringValue : nil })
            if requiredComponents.allSatisfy({ names.contains($0) }) {
                chosen = (label, list)
                break
            }
        }
        guard let chosen else {
            let required = requiredComponents.map { "\"\($0)\"" }.joined(separator: " ")
            throw ModelError(
                .signature,
                inputs.isEmpty ? "Signature-Input is empty" : "no signature in Signature-Input covers all of \(required) (RFC 9421 §3.2)")
        }
        let (label, covered) = chosen
        guard let signatureMember = signatures[label] else {
            throw ModelError(.signature, "Signature has no member with the label of the chosen Signature-Input member (RFC 9421 §4.2)")
        }
        guard case .item(let signatureItem) = signatureMember, let signatureBytes = signatureItem.rfc9651BareItem.byteSequenceValue else {
            throw ModelError(.signature, "the Signature member must be a Byte Sequence of base64 (:…:)")
        }

        // Step 2: signature parameters (RFC 9421 §2.3, §3.2 steps 4-5).
        let params = covered.rfc9651Parameters
        guard let createdItem = params["created"] else {
            throw ModelError(.signature, "the signature has no created parameter (RFC 9421 §2.3)")
        }
        guard let created = createdItem.integerValue else {
            throw ModelError(.signature, "the signature's created must be an Integer, found a \(createdItem.typeName)")
        }
        guard let keyItem = params["keyid"] else { throw ModelError(.signature, "the signature has no keyid parameter (RFC 9421 §2.3)") }
        guard let keyID = keyItem.stringValue else {
            throw ModelError(.signature, "the signature's keyid must be a String, found a \(keyItem.typeName)")
        }
        if let alg = params["alg"] {
            guard alg.stringValue == HTTPMessageSigner.algorithm else {
                throw ModelError(.signature, "the signature's alg is not \"\(HTTPMessageSigner.algorithm)\"")
            }
        }
        // Checked arithmetic: `created` is any 15-digit Integer (RFC 8941 §3.3.1).
        let (age, overflow) = now.subtractingReportingOverflow(created)
        let limit = Int64(allowedSkew.rounded(.down))
        if overflow || age > limit {
            throw ModelError(.expired, "the signature's created is more than \(limit) s before now (RFC 9421 §3.2 step 5)")
        }
        if age < -limit {
            throw ModelError(.expired, "the signature's created is more than \(limit) s after now (RFC 9421 §3.2 step 5)")
        }
        if let expiresItem = params["expires"] {
            guard let expires = expiresItem.integerValue else {
                throw ModelError(.signature, "the signature's expires must be an Integer")
            }
            if expires < now { throw ModelError(.expired, "the signature's expires is past (RFC 9421 §2.3)") }
        }

        // Step 3: the key.
        guard let secret = keyLookup(keyID) else {
            throw ModelError(.unknownKey, "the signature's keyid is not known")
        }

        // Step 4: signature base and HMAC (RFC 9421 §3.2 steps 6-8, §3.3.3).
        let base = try SignatureBase.build(covered: covered, method: method, targetURI: targetURI, fields: fields)
        let valid = HMAC<SHA256>.isValidAuthenticationCode(signatureBytes, authenticating: base, using: SymmetricKey(data: secret))
        guard valid else {
            throw ModelError(.signature, "the signature does not verify for this method, target URI and covered fields")
        }

        let rawKey = fields["idempotency-key"]
        let coveredNames = covered.bareInnerList.compactMap { $0.rfc9651BareItem.stringValue }
        return VerifiedSignature(
            label: label, keyID: keyID, created: created, idempotencyKey: rawKey.map(Self.unquote),
            coveredComponents: coveredNames, contentDigest: coveredNames.contains("content-digest") ? fields["content-digest"] : nil)
    }

    /// Verifies one request given its headers as a dictionary (one line per name).
    /// - Throws: as the main `verify(method:targetURI:headers:body:now:)`.
    public func verify(
        method: String, targetURI: String, headers: [String: String], body: some Collection<UInt8>, now: Int64
    ) throws(ModelError) -> VerifiedSignature {
        try verify(method: method, targetURI: targetURI, headers: headers.map { (name: $0.key, value: $0.value) }, body: body, now: now)
    }

    /// Verifies one request against the current time.
    /// - Throws: as the main `verify(method:targetURI:headers:body:now:)`.
    public func verify(
        method: String, targetURI: String, headers: [(name: String, value: String)], body: some Collection<UInt8>
    ) throws(ModelError) -> VerifiedSignature {
        try verify(method: method, targetURI: targetURI, headers: headers, body: body, now: Int64(Date().timeIntervalSince1970))
    }

    /// An `Idempotency-Key` may be sent bare or as a Structured Field String
    /// (`"…"`, draft-ietf-httpapi-idempotency-key-header); both give the key.
    static func unquote(_ value: String) -> String {
        if value.utf8.count >= 2, value.hasPrefix("\""), value.hasSuffix("\""),
            let item = try? StructuredFields.item(value), let s = item.rfc9651BareItem.stringValue
        {
            return s
        }
        return value
    }
}

/// What a successful verification established.
public struct VerifiedSignature: Sendable, Hashable {
    /// The signature label, e.g. `sig1`.
    public var label: String
    /// The `keyid` whose secret verified it.
    public var keyID: String
    /// `created`, Unix seconds.
    public var created: Int64
    /// The `Idempotency-Key` (the batch id), unquoted; nil when not sent.
    public var idempotencyKey: String?
    /// The covered component names in signed order.
    public var coveredComponents: [String]
    /// The `Content-Digest` value the signature covers, when it covers one: the
    /// body must still be checked against it (``ContentDigest/verify(_:body:)``).
    public var contentDigest: String?

    /// - Parameters: see the properties.
    public init(
        label: String, keyID: String, created: Int64, idempotencyKey: String?, coveredComponents: [String], contentDigest: String? = nil
    ) {
        self.label = label
        self.keyID = keyID
        self.created = created
        self.idempotencyKey = idempotencyKey
        self.coveredComponents = coveredComponents
        self.contentDigest = contentDigest
    }
}
