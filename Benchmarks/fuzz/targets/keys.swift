// Fuzz target: the ingest's keys file (Ingest/Auth/KeyStore.parse), compiled without Hummingbird.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeys(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? KeyStore.parse(file: "keys", text: Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
