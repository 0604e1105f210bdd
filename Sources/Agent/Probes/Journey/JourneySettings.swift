/// `CLOWDER_METRICS_JOURNEY_*`: one traced transaction against a Clowder site per round.
public struct JourneySettings: Sendable, Hashable {
    /// Which Clowder's routes.
    public enum API: String, Sendable, Hashable {
        /// Clowder 1.x (`/api/files/:id/blob`, `/api/uploadToDataset/:id`, `DELETE /api/files/:id`).
        case v1
        /// Clowder 2.x (`/api/v2/files/:id`, `/api/v2/datasets/:id/files`, `DELETE /api/v2/files/:id`).
        case v2
    }

    /// `CLOWDER_METRICS_JOURNEY_URL`: Clowder's base URL with its context, e.g. `https://clowder.example.org/clowder`.
    public var baseURL: String
    /// `CLOWDER_METRICS_JOURNEY_API`: `v1` or `v2`.
    public var api: API
    /// `CLOWDER_METRICS_JOURNEY_API_KEY_FILE`: a file holding the Clowder API key (sent as `X-API-Key`).
    public var apiKeyFile: String
    /// `CLOWDER_METRICS_JOURNEY_FILE_ID`: the file downloaded each round.
    public var fileID: String
    /// `CLOWDER_METRICS_JOURNEY_DATASET_ID`: the test dataset a small file is uploaded to (and deleted from).
    public var datasetID: String
    /// `CLOWDER_METRICS_JOURNEY_UPLOAD_BYTES`: size of the generated file, bytes.
    public var uploadBytes: Int
    /// `CLOWDER_METRICS_JOURNEY_INTERVAL`: seconds between rounds.
    public var intervalSeconds: Double
    /// `CLOWDER_METRICS_JOURNEY_TIMEOUT`: seconds each step may take.
    public var stepTimeoutSeconds: Double
    /// Where uploaded files not deleted yet are remembered across restarts (beside the spool).
    public var pendingFile: String

    public init(baseURL: String, api: API = .v1, apiKeyFile: String, fileID: String, datasetID: String,
                uploadBytes: Int = 4096, intervalSeconds: Double = 300, stepTimeoutSeconds: Double = 30, pendingFile: String) {
        var u = baseURL
        while u.hasSuffix("/") { u.removeLast() }
        self.baseURL = u
        self.api = api
        self.apiKeyFile = apiKeyFile
        self.fileID = fileID
        self.datasetID = datasetID
        self.uploadBytes = uploadBytes
        self.intervalSeconds = intervalSeconds
        self.stepTimeoutSeconds = stepTimeoutSeconds
        self.pendingFile = pendingFile
    }
}
