import SystemSupport

extension Forwarder {
    /// The API key: the bytes of `CLOWDER_METRICS_API_KEY_FILE` without trailing whitespace
    /// (``SettingValue/secretFile(_:)``, which retries `EINTR` and refuses an empty file).
    /// - Throws: ``DeliveryError`` `.configuration` naming the setting, the path and what was expected.
    static func readSecret(_ path: String) throws(DeliveryError) -> [UInt8] {
        do { return try SettingValue.secretFile(path) } catch {
            throw DeliveryError(.configuration, SettingValue.message(key: "CLOWDER_METRICS_API_KEY_FILE", value: path, expected: error.expected))
        }
    }
}
