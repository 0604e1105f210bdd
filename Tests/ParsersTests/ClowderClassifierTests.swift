import Parsers
import Testing

@Suite("ClowderClassifier (DESIGN.md: Classifying a request)")
struct ClowderClassifierTests {
    static let id = "5f0c3b2a9d1e4f7a8b6c5d4e"
    static let browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
    let v1 = ClowderClassifier()
    let clowder = ClowderClassifier(prefix: "/clowder/")

    private func k(_ c: ClowderClassifier, _ m: String, _ t: String, _ s: Int, ua: String = browser) -> ClowderClassification {
        c.classify(method: m, target: t, status: s, userAgent: ua)
    }

    @Test("assets: the extension check equals a String suffix check on every extension, both cases, and near misses")
    func assetExtensions() {
        let extensions = ["js", "css", "png", "jpg", "jpeg", "gif", "svg", "ico", "woff", "woff2", "ttf", "map"]
        var paths: [String] = []
        for e in extensions + ["jsx", "cs", "pngg", "jpe", "woff3", "mapx", "json", "tt", "x", "", "JS", "Css", "WOFF2"] {
            for stem in ["/a", "/dir/file", "/a.b/c", "/", "/assets.d/x", "/very-long-name"] {
                paths += ["\(stem).\(e)", "\(stem).\(e.uppercased())", "\(stem)\(e)", "\(stem).\(e)/", "\(stem)..\(e)"]
            }
        }
        paths += [".js", "/.js", "js", "/", "", "/js", "/a/.map", "/a/b.c.css", "/a\u{1}.js"]
        // Independent reference: the last segment's text after its last `.`, lowercased, 2–5 bytes.
        func reference(_ path: String) -> Bool {
            if path.hasPrefix("/assets/") { return true }
            let last = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            guard let dot = last.lastIndex(of: ".") else { return false }
            let ext = last[last.index(after: dot)...].lowercased()
            return extensions.contains(ext)
        }
        for path in paths where !path.contains("?") {
            #expect(k(v1, "GET", path, 200).isAsset == reference(path), "\(path)")
        }
    }

    @Test("resource ids: exactly 24 hex digits of either case")
    func resourceIDs() {
        for (id, ok) in [(Self.id, true), (Self.id.uppercased(), true), ("0123456789abcdefABCDEF01", true),
                         ("5f0c3b2a9d1e4f7a8b6c5d4g", false), ("5f0c3b2a9d1e4f7a8b6c5d4", false), ("5f0c3b2a9d1e4f7a8b6c5d4e0", false),
                         ("5f0c3b2a9d1e4f7a8b6c5d/e", false), ("5f0c3b2a9d1e4f7a8b6c5d:e", false), ("5f0c3b2a9d1e4f7a8b6c5d@e", false),
                         ("5f0c3b2a9d1e4f7a8b6c5d`e", false), ("5f0c3b2a9d1e4f7a8b6c5dGe", false), ("5f0c3b2a9d1e4f7a8b6c5d\u{e9}", false)] {
            #expect((k(v1, "GET", "/files/\(id)", 200).action == .view) == ok, "\(id)")
        }
    }

    @Test("assets: /assets/ and static extensions, any status, bots too")
    func assets() {
        #expect(k(v1, "GET", "/assets/javascripts/jquery.min.js", 200).isAsset)
        #expect(k(v1, "GET", "/assets/xxxx?q=100", 200).isAsset)
        #expect(k(v1, "GET", "/favicon.ico", 404).isAsset)
        #expect(k(v1, "GET", "/x/font.WOFF2", 304).isAsset)
        #expect(k(clowder, "GET", "/clowder/assets/images/logo.png", 200).isAsset)
        #expect(!k(v1, "GET", "/assets/x.js", 200).isPageView)
        #expect(!k(v1, "GET", "/datasets", 200).isAsset)
        #expect(!k(v1, "GET", "/file.json", 200).isAsset)
    }

    @Test("page views: human GET 200/304 not asset/api/download/thumbnail/healthz, inside the prefix")
    func pageViews() {
        #expect(k(v1, "GET", "/", 200).isPageView)
        #expect(k(v1, "GET", "/search?query=soil+moisture", 304).isPageView)
        #expect(!k(v1, "GET", "/", 302).isPageView)
        #expect(!k(v1, "POST", "/datasets", 200).isPageView)
        #expect(!k(v1, "GET", "/", 200, ua: "Googlebot/2.1").isPageView)
        #expect(!k(v1, "GET", "/healthz", 200).isPageView)
        #expect(!k(v1, "GET", "/fileThumbnail/\(Self.id)/blob", 200).isPageView)
        #expect(!k(v1, "GET", "/api/thumbnails/\(Self.id)/blob", 200).isPageView)
        #expect(!k(v1, "GET", "/api/previews/\(Self.id)", 200).isPageView)
        #expect(!k(v1, "GET", "/files/\(Self.id)/blob", 200).isPageView)
        #expect(!k(v1, "GET", "/files/\(Self.id)/blob?tracking=false", 200).isPageView)
        #expect(k(clowder, "GET", "/clowder/", 200).isPageView)
        #expect(k(clowder, "GET", "/clowder", 200).isPageView)
        #expect(!k(clowder, "GET", "/", 200).isPageView)
        #expect(!k(clowder, "GET", "/clowderx/datasets", 200).isPageView)
    }

    @Test("api calls: under <prefix>/api/ (v2 under /api/v2/), any method and status; /api/status too")
    func apiCalls() {
        #expect(k(v1, "GET", "/api/spaces", 401).isAPICall)
        #expect(k(v1, "GET", "/api/status", 200).isAPICall)
        #expect(!k(v1, "GET", "/api/status", 200).isPageView)
        #expect(k(v1, "GET", "/api/v2/datasets?limit=20", 200).isAPICall)
        #expect(k(clowder, "POST", "/clowder/api/files", 500).isAPICall)
        #expect(!k(clowder, "GET", "/api/spaces", 200).isAPICall)
        #expect(!k(v1, "GET", "/apis", 200).isAPICall)
        #expect(!k(v1, "GET", "/healthz", 200).isAPICall)
    }

    @Test("v1 resource views: GET 200 of /files/:id, /datasets/:id, /collection/:id, /spaces/:id; also page views")
    func v1Views() {
        for (seg, type) in [("files", ClowderClassification.ResourceType.file), ("datasets", .dataset),
                            ("collection", .collection), ("spaces", .space)] {
            let c = k(v1, "GET", "/\(seg)/\(Self.id)", 200)
            #expect(c.action == .view)
            #expect(c.resourceType == type)
            #expect(c.isPageView)
            #expect(k(v1, "GET", "/\(seg)/\(Self.id)", 404).action == .none)
            #expect(k(v1, "GET", "/\(seg)/\(Self.id)", 200, ua: "AhrefsBot/7.0").action == .none)
        }
        #expect(k(v1, "GET", "/collections/\(Self.id)", 200).action == .none)  // v1 views use the singular
        #expect(k(v1, "GET", "/files/not-an-id", 200).action == .none)
        #expect(k(clowder, "GET", "/clowder/datasets/\(Self.id)", 200).action == .view)
    }

    @Test("v1 downloads: 200 download, 206 partial, tracking=false excluded, bots excluded")
    func v1Downloads() {
        let routes: [(String, ClowderClassification.ResourceType)] = [
            ("/files/\(Self.id)/blob", .file), ("/api/files/\(Self.id)/blob", .file), ("/api/files/\(Self.id)", .file),
            ("/api/datasets/\(Self.id)/download", .dataset), ("/api/collections/\(Self.id)/download", .collection),
        ]
        for (route, type) in routes {
            let d = k(v1, "GET", route, 200)
            #expect(d.action == .download)
            #expect(d.resourceType == type)
            #expect(k(v1, "GET", route, 206).action == .partialDownload)
            #expect(k(v1, "GET", route + "?tracking=false", 200).action == .none)
            #expect(k(v1, "GET", route + "?tracking=false&key=abc", 206).action == .none)
            #expect(k(v1, "GET", route + "?key=abc", 200).action == .download)
            #expect(k(v1, "GET", route + "?tracking=falsey", 200).action == .download)
            #expect(k(v1, "GET", route, 404).action == .none)
            #expect(k(v1, "GET", route, 200, ua: "facebookexternalhit/1.1").action == .none)
            #expect(k(v1, "HEAD", route, 200).action == .none)
        }
        #expect(k(v1, "GET", "/api/files/\(Self.id)/blob", 200).isAPICall)
        #expect(!k(v1, "GET", "/files/\(Self.id)/blob", 200).isAPICall)
    }

    @Test("v2 views and downloads: api calls, increment=false excluded")
    func v2() {
        let view = k(v1, "GET", "/api/v2/files/\(Self.id)/summary", 200)
        #expect(view.action == .view && view.resourceType == .file && view.isAPICall && !view.isPageView)
        #expect(k(v1, "GET", "/api/v2/datasets/\(Self.id)", 200).action == .view)
        #expect(k(v1, "GET", "/api/v2/datasets/\(Self.id)", 404).action == .none)
        let dl = k(v1, "GET", "/api/v2/files/\(Self.id)", 200)
        #expect(dl.action == .download && dl.resourceType == .file)
        #expect(k(v1, "GET", "/api/v2/files/\(Self.id)", 206).action == .partialDownload)
        #expect(k(v1, "GET", "/api/v2/datasets/\(Self.id)/download", 200).resourceType == .dataset)
        #expect(k(v1, "GET", "/api/v2/files/\(Self.id)?increment=false", 200).action == .none)
        #expect(k(v1, "GET", "/api/v2/files/\(Self.id)?tracking=false", 200).action == .download)
        #expect(k(clowder, "GET", "/clowder/api/v2/files/\(Self.id)/summary", 200).action == .view)
    }

    @Test("uploads, deletes, extractions: answered 2xx, bots included")
    func writes() {
        #expect(k(v1, "POST", "/api/files", 200).action == .upload)
        #expect(k(v1, "POST", "/api/uploadToDataset/\(Self.id)?key=k", 201).action == .upload)
        #expect(k(v1, "POST", "/api/datasets/\(Self.id)/files", 200).action == .upload)
        #expect(k(v1, "POST", "/api/datasets/\(Self.id)/files", 413).action == .none)
        #expect(k(v1, "POST", "/api/v2/datasets/\(Self.id)/files", 200).action == .upload)
        #expect(k(v1, "POST", "/api/files", 200, ua: "Googlebot").action == .upload)
        #expect(k(v1, "DELETE", "/api/files/\(Self.id)", 200).action == .delete)
        #expect(k(v1, "DELETE", "/api/datasets/\(Self.id)", 204).resourceType == .dataset)
        #expect(k(v1, "DELETE", "/api/files/\(Self.id)", 404).action == .none)
        #expect(k(v1, "DELETE", "/api/v2/files/\(Self.id)", 200).action == .delete)
        #expect(k(v1, "POST", "/api/files/\(Self.id)/remove", 200).action == .delete)
        #expect(k(v1, "POST", "/api/files/\(Self.id)/extractions", 200).action == .extraction)
        #expect(k(v1, "POST", "/api/datasets/\(Self.id)/extractions", 200).resourceType == .dataset)
        #expect(k(v1, "POST", "/api/files/\(Self.id)/extractions", 400).action == .none)
        #expect(k(v1, "POST", "/api/v2/files/\(Self.id)/extract", 200).action == .extraction)
        #expect(k(v1, "GET", "/api/files/\(Self.id)/extractions", 200).action == .none)
    }

    @Test("bots: bot|crawler|spider|slurp|facebookexternalhit, ignoring case")
    func bots() {
        for ua in ["Mozilla/5.0 (compatible; Googlebot/2.1)", "bingbot/2.0", "AhrefsBot/7.0", "facebookexternalhit/1.1",
                   "Some CRAWLER", "a Spider", "Yahoo! Slurp", "Facebot 1.0"] {
            #expect(k(v1, "GET", "/", 200, ua: ua).isBot, "\(ua)")
        }
        for ua in ["Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", "curl/8.5.0", "pyclowder/3.0.7", "-", ""] {
            #expect(!k(v1, "GET", "/", 200, ua: ua).isBot, "\(ua)")
        }
    }

    @Test("records: the classifier reads method, path, query, status and user agent from a parsed line")
    func fromRecord() throws {
        let parser = try AccessLogParser(format: .combined)
        let line = Array(#"203.0.113.5 - bob [01/Jun/2026:00:00:00 +0000] "GET /api/files/\#(Self.id)/blob?key=0123456789abcdef HTTP/2.0" 200 4096 "-" "pyclowder/3.0.7""#.utf8)
        var r = parser.makeRecord()
        let c = line.withUnsafeBytes { buf -> ClowderClassification in
            #expect(parser.parse(buf, into: &r))
            return ClowderClassifier().classify(r, in: buf)
        }
        #expect(c.action == .download)
        #expect(c.resourceType == .file)
        #expect(c.isAPICall)
        let id = try #require(c.resourceID)
        #expect(String(decoding: line[id], as: UTF8.self) == Self.id)
    }
}
