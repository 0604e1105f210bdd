extension Values {
    /// The journey probe's settings, or nil when `CLOWDER_METRICS_JOURNEY_URL` is empty.
    /// - Throws: ``ConfigError`` for a bad URL or API, a missing id, an unreadable key file, or a value out of range.
    func journeySettings(spoolPath: String) throws -> JourneySettings? {
        guard let url = try url("JOURNEY_URL", schemes: ["https", "http"]) else { return nil }
        func required(_ name: String, _ what: String) throws -> String {
            guard let v = raw(name) else {
                throw ConfigError(.missingKey, key: ConfigKeys.prefix + name, source: source(ConfigKeys.prefix + "JOURNEY_URL"),
                                  expected: "JOURNEY_URL is set, so the journey probe needs \(name): \(what)")
            }
            return v
        }
        let keyFile = try required("JOURNEY_API_KEY_FILE", "a file holding a Clowder API key")
        do { _ = try JourneyProbe.readKey(keyFile) } catch let e as AgentError { throw fail("JOURNEY_API_KEY_FILE", keyFile, e.message) }
        let fileID = try required("JOURNEY_FILE_ID", "the id of a file to download each round")
        let datasetID = try required("JOURNEY_DATASET_ID", "the id of a test dataset to upload to (and delete from)")
        for (name, id) in [("JOURNEY_FILE_ID", fileID), ("JOURNEY_DATASET_ID", datasetID)]
        where id.isEmpty || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw fail(name, id, "expected a Clowder id (letters, digits, - and _), e.g. 5f0c1a2b3c4d5e6f7a8b9c0d")
        }
        let apiText = (raw("JOURNEY_API") ?? "v1").lowercased()
        guard let api = JourneySettings.API(rawValue: apiText) else { throw fail("JOURNEY_API", apiText, "expected v1 or v2") }
        return JourneySettings(
            baseURL: url, api: api, apiKeyFile: keyFile, fileID: fileID, datasetID: datasetID,
            uploadBytes: try int("JOURNEY_UPLOAD_BYTES", 1...(64 << 20), unit: "bytes"),
            intervalSeconds: try seconds("JOURNEY_INTERVAL", 1...86_400),
            stepTimeoutSeconds: try seconds("JOURNEY_TIMEOUT", 0.1...3600),
            pendingFile: spoolPath + ".journey-pending")
    }
}
