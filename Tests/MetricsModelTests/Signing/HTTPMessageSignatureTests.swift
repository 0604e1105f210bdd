import Foundation
import MetricsModel
import TestSupport
import Testing

/// Signing and verifying (RFC 9421, RFC 9530), checked against the PyPI
/// package `http-message-signatures` in both directions.
@Suite(.ownThreads) struct HTTPMessageSignatureTests {
    static let secret = Array("a shared secret of 32 bytes!!!!!".utf8)
    static let url = "https://ingest.example.org/v1/batches"
    static let created: Int64 = 1_732_900_000
    static let batchID = "0b6c2f1e-3f53-4b0e-9d7a-5b7d1f0c2a11"
    static let body: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }

    static let verifier = HTTPMessageVerifier { $0 == "agent-1" ? secret : nil }

    /// The error `body` throws, nil when it succeeds.
    static func failure(_ body: () throws(ModelError) -> Void) -> ModelError? {
        do { try body() } catch { return error }
        return nil
    }

    /// RFC 9530 Appendix B.1: `{"hello": "world"}`.
    @Test func contentDigestOfRFC9530Example() throws {
        let body = Array(#"{"hello": "world"}"#.utf8)
        #expect(ContentDigest.fieldValue(for: body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        try ContentDigest.verify("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body: body)
        try ContentDigest.verify(
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, md5=:AAAA:",
            body: body)
        #expect(throws: ModelError(.digest, "Content-Digest has no sha-256 or sha-512 member (RFC 9530 §2, §5)")) {
            try ContentDigest.verify("md5=:AAAA:", body: body)
        }
        #expect(throws: ModelError.self) { try ContentDigest.verify("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body: body + [10]) }
    }

    @Test func signedFieldsHaveTheDocumentedShape() throws {
        let signed = try HTTPMessageSigner(keyID: "agent-1", secret: Self.secret)
            .sign(targetURI: Self.url, body: Self.body, idempotencyKey: Self.batchID, created: Self.created)
        #expect(
            signed.signatureInput
                == #"sig1=("@method" "@target-uri" "content-digest" "idempotency-key");created=1732900000;keyid="agent-1";alg="hmac-sha256""#
        )
        #expect(signed.signature.hasPrefix("sig1=:") && signed.signature.hasSuffix(":"))
        #expect(
            signed.signatureBase == """
                "@method": POST
                "@target-uri": https://ingest.example.org/v1/batches
                "content-digest": \(signed.contentDigest)
                "idempotency-key": \(Self.batchID)
                "@signature-params": ("@method" "@target-uri" "content-digest" "idempotency-key");created=1732900000;keyid="agent-1";alg="hmac-sha256"
                """)
        let v = try Self.verifier.verify(
            method: "POST", targetURI: Self.url, headers: signed.fields, body: Self.body, now: Self.created + 299)
        #expect(v == VerifiedSignature(label: "sig1", keyID: "agent-1", created: Self.created, idempotencyKey: Self.batchID,
                                       coveredComponents: HTTPMessageSigner.coveredComponents, contentDigest: signed.contentDigest))
    }

    /// The same inputs give byte-identical headers in Swift and in Python
    /// (HMAC is deterministic), so both build the same signature base.
    @Test func swiftAndPythonProduceIdenticalHeaders() throws {
        let ours = try HTTPMessageSigner(keyID: "agent-1", secret: Self.secret)
            .sign(targetURI: Self.url, body: Self.body, idempotencyKey: Self.batchID, created: Self.created)
        let theirs = try #require(try pythonSign() as? [String: String])
        #expect(theirs["Content-Digest"] == ours.contentDigest)
        #expect(theirs["Signature-Input"] == ours.signatureInput)
        #expect(theirs["Signature"] == ours.signature)
        #expect(theirs["Idempotency-Key"] == Self.batchID)
    }

    func pythonSign() throws -> Any {
        try PythonHMS.run("sign", [
            "key_id": "agent-1", "secret_b64": Data(Self.secret).base64EncodedString(), "method": "POST", "url": Self.url,
            "body_b64": Data(Self.body).base64EncodedString(), "idempotency_key": Self.batchID, "created": Self.created,
        ])
    }

    /// One request and the ways it is tampered with.
    struct Request {
        var method = "POST"
        var url = HTTPMessageSignatureTests.url
        var headers: [(name: String, value: String)]
        var body = HTTPMessageSignatureTests.body

        mutating func replace(_ name: String, _ transform: (String) -> String) {
            headers = headers.map { $0.name.lowercased() == name.lowercased() ? ($0.name, transform($0.value)) : $0 }
        }
    }

    /// Each tampered variant with the error code our verifier must give.
    static func variants(of original: Request, created: Int64 = created) -> [(String, Request, ModelError.Code?)] {
        var out: [(String, Request, ModelError.Code?)] = [("original", original, nil)]
        var r = original
        r.body[150] ^= 0x01
        out.append(("one body byte", r, .digest))
        r = original
        r.replace("content-digest") { _ in ContentDigest.fieldValue(for: Array("other".utf8)) }
        out.append(("digest", r, .signature))
        r = original
        r.headers.removeAll { $0.name.lowercased() == "content-digest" }
        out.append(("digest removed", r, .digest))
        r = original
        r.replace("idempotency-key") { _ in "0b6c2f1e-3f53-4b0e-9d7a-5b7d1f0c2a12" }
        out.append(("idempotency key", r, .signature))
        r = original
        r.replace("signature-input") { $0.replacingOccurrences(of: "created=\(created)", with: "created=\(created + 1)") }
        out.append(("created +1 s", r, .signature))
        r = original
        r.replace("signature-input") { $0.replacingOccurrences(of: "created=\(created)", with: "created=\(created - 600)") }
        out.append(("created 10 min earlier", r, .expired))
        r = original
        r.replace("signature-input") { $0.replacingOccurrences(of: #"keyid="agent-1""#, with: #"keyid="agent-2""#) }
        out.append(("keyid", r, .unknownKey))
        r = original
        r.replace("signature") { s in
            var b = Array(s.utf8)
            b[8] = b[8] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            return String(decoding: b, as: UTF8.self)
        }
        out.append(("signature byte", r, .signature))
        r = original
        r.url = "https://ingest.example.org/v1/events"
        out.append(("target URI", r, .signature))
        r = original
        r.method = "PUT"
        out.append(("method", r, .signature))
        r = original
        r.headers.removeAll { $0.name.lowercased() == "signature" }
        out.append(("no Signature", r, .signature))
        r = original
        r.replace("signature-input") { $0.replacingOccurrences(of: #" "idempotency-key""#, with: "") }
        out.append(("idempotency-key not covered", r, .signature))
        return out
    }

    /// Python signs; our verifier accepts the original and rejects every variant with the right code.
    @Test func swiftVerifiesPythonSignedRequests() throws {
        let theirs = try #require(try pythonSign() as? [String: String])
        let original = Request(headers: theirs.map { (name: $0.key, value: $0.value) } + [(name: "Content-Type", value: "application/json")])
        for (name, request, expected) in Self.variants(of: original) {
            do {
                _ = try Self.verifier.verify(
                    method: request.method, targetURI: request.url, headers: request.headers, body: request.body,
                    now: Self.created + 10)
                #expect(expected == nil, "\(name): accepted, expected \(String(describing: expected))")
            } catch {
                #expect(error.code == expected, "\(name): \(error)")
            }
        }
    }

    /// The same key under another secret: the signature does not verify.
    @Test func wrongSecretIsASignatureError() throws {
        let signed = try HTTPMessageSigner(keyID: "agent-1", secret: Array("another secret".utf8))
            .sign(targetURI: Self.url, body: Self.body, idempotencyKey: Self.batchID, created: Self.created)
        let error = Self.failure { () throws(ModelError) in
            _ = try Self.verifier.verify(method: "POST", targetURI: Self.url, headers: signed.fields, body: Self.body, now: Self.created)
        }
        #expect(error?.code == .signature)
        #expect(error?.message.contains("does not verify") == true, "\(String(describing: error))")
    }

    @Test func skewIsCheckedBothWays() throws {
        let signed = try HTTPMessageSigner(keyID: "agent-1", secret: Self.secret)
            .sign(targetURI: Self.url, body: Self.body, idempotencyKey: Self.batchID, created: Self.created)
        for now in [Self.created - 300, Self.created + 300] {
            _ = try Self.verifier.verify(method: "POST", targetURI: Self.url, headers: signed.fields, body: Self.body, now: now)
        }
        for now in [Self.created - 301, Self.created + 301] {
            let error = Self.failure { () throws(ModelError) in
                _ = try Self.verifier.verify(method: "POST", targetURI: Self.url, headers: signed.fields, body: Self.body, now: now)
            }
            #expect(error?.code == .expired, "\(String(describing: error))")
        }
    }

    /// We sign; Python's verifier (given the received body) accepts the
    /// original and refuses every tampered variant.
    @Test func pythonVerifiesSwiftSignedRequests() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let signed = try HTTPMessageSigner(keyID: "agent-1", secret: Self.secret)
            .sign(targetURI: Self.url, body: Self.body, idempotencyKey: Self.batchID, created: now)
        let original = Request(headers: signed.fields)
        let variants = Self.variants(of: original, created: now)
        let input: [String: Any] = [
            "keys": ["agent-1": Data(Self.secret).base64EncodedString()],
            "requests": variants.map { _, r, _ in
                [
                    "method": r.method, "url": r.url, "headers": r.headers.map { [$0.name, $0.value] },
                    "body_b64": Data(r.body).base64EncodedString(),
                ] as [String: Any]
            },
        ]
        let results = try #require(try PythonHMS.run("verify", input) as? [[String: Any]])
        #expect(results.count == variants.count)
        for ((name, _, expected), result) in zip(variants, results) {
            let ok = result["ok"] as? Bool ?? false
            #expect(ok == (expected == nil), "\(name): \(result)")
        }
        // The body variant is refused for its digest, which shows Python checked Content-Digest.
        #expect((results[1]["error"] as? String)?.contains("Content-Digest does not match") == true, "\(results[1])")
    }
}
