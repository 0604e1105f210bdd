/// What one request means for Clowder (DESIGN.md, "Classifying a request").
///
/// The flags are independent: a bot's upload is an `upload` and an api call and a bot request.
/// Views, downloads and partial downloads are never reported for bots (``isBot``): the
/// ``action`` is then `.none`.
public struct ClowderClassification: Sendable, Equatable {
    /// A Clowder user action recognised from the route, method and status.
    public enum Action: UInt8, Sendable {
        /// Nothing counted apart.
        case none
        /// `view_resource`: a resource page (v1) or summary (v2) answered 200.
        case view
        /// `download`: a download route answered 200, tracking not disabled.
        case download
        /// A download route answered 206 (a range request), tracking not disabled.
        case partialDownload
        /// `upload`: an upload route answered 2xx.
        case upload
        /// `delete`: a delete route answered 2xx.
        case delete
        /// `extraction`: an extraction submission answered 2xx.
        case extraction

        /// The Clowder event `category` for the action (`view_resource`, `download`, …), `nil` for none.
        public var eventCategory: String? {
            switch self {
            case .none: nil
            case .view: "view_resource"
            case .download, .partialDownload: "download"
            case .upload: "upload"
            case .delete: "delete"
            case .extraction: "extraction"
            }
        }
    }

    /// The kind of resource the route names.
    public enum ResourceType: UInt8, Sendable {
        case none, file, dataset, collection, space

        /// The Clowder event `type` (`file`, `dataset`, `collection`, `space`), `nil` for none.
        public var name: String? {
            switch self {
            case .none: nil
            case .file: "file"
            case .dataset: "dataset"
            case .collection: "collection"
            case .space: "space"
            }
        }
    }

    /// The action, if any.
    public var action: Action = .none
    /// The resource type of ``action`` (for an upload into a dataset: `dataset`).
    public var resourceType: ResourceType = .none
    /// Byte range of the 24-hex resource id in the line, when the route has one.
    public var resourceID: Range<Int>? = nil
    /// A page view: a human GET answered 200 or 304 that is not an asset, api call, download,
    /// thumbnail, preview or health check, under the context prefix.
    public var isPageView = false
    /// A request under `<prefix>/api/` (v2: `<prefix>/api/v2/`).
    public var isAPICall = false
    /// A static asset: under `/assets/` or with a static-file extension.
    public var isAsset = false
    /// A user agent matching `bot|crawler|spider|slurp|facebookexternalhit` (case-insensitive).
    public var isBot = false

    /// An empty classification (a request that counts only in the totals).
    public init() {}
}
