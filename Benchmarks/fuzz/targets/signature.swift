// Fuzz target: RFC 9421 `Signature-Input` and `Signature`, RFC 9530 `Content-Digest` and
// `Idempotency-Key` as the ingest verifies them (MetricsModel signing). The input is split at
// newlines into those four header values.
let verifier = HTTPMessageVerifier(allowedSkew: 300) { id in id == "agent-1" ? Array("secret".utf8) : nil }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignature(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parts = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
    let names = ["signature-input", "signature", "content-digest", "idempotency-key"]
    let headers = zip(names, parts).map { (name: $0, value: $1) }
    _ = try? verifier.verify(
        method: "POST", targetURI: "https://ingest.example.org/v1/batches", headers: headers, body: Array("{}".utf8),
        now: 1_795_953_600)
    return 0
}
