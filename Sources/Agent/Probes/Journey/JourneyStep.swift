/// The steps of a journey round, in order (the `failed_step` tag and the `<step>_time` fields).
public enum JourneyStep: String, Sendable, CaseIterable {
    /// `GET /healthz` answers `healthy`.
    case healthz
    /// `GET /api/status` (v2 `/api/v2/status`) answers JSON.
    case status
    /// The configured file downloads (`/api/files/:id/blob`, v2 `/api/v2/files/:id`).
    case download
    /// A generated file uploads to the test dataset (`POST /api/uploadToDataset/:id`, v2 `/api/v2/datasets/:id/files`).
    case upload
    /// The uploaded file downloads again, byte for byte.
    case readback
    /// The uploaded file is deleted (`DELETE /api/files/:id`, v2 `/api/v2/files/:id`).
    case delete

    /// The request of this step: method and path after the base URL.
    func route(_ api: JourneySettings.API, fileID: String, datasetID: String, uploadedID: String) -> (String, String) {
        switch (self, api) {
        case (.healthz, _): ("GET", "/healthz")
        case (.status, .v1): ("GET", "/api/status")
        case (.status, .v2): ("GET", "/api/v2/status")
        case (.download, .v1): ("GET", "/api/files/\(fileID)/blob")
        case (.download, .v2): ("GET", "/api/v2/files/\(fileID)")
        case (.upload, .v1): ("POST", "/api/uploadToDataset/\(datasetID)")
        case (.upload, .v2): ("POST", "/api/v2/datasets/\(datasetID)/files")
        case (.readback, .v1): ("GET", "/api/files/\(uploadedID)/blob")
        case (.readback, .v2): ("GET", "/api/v2/files/\(uploadedID)")
        case (.delete, .v1): ("DELETE", "/api/files/\(uploadedID)")
        case (.delete, .v2): ("DELETE", "/api/v2/files/\(uploadedID)")
        }
    }
}
