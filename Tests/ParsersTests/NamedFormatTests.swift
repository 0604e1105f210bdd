import Parsers
import Testing

/// The named formats of Clowder's other front doors (``LogFormat/namedFormats``), each selected by
/// name and tested on real lines others wrote (Tests/Fixtures, origins in SOURCES.md). Expected
/// values are read off the lines by hand; epoch times computed from the logged time and offset.
@Suite("Named formats: Traefik CLF, ingress-nginx, combined + $host / $http_x_forwarded_for")
struct NamedFormatTests {
    func parser(_ name: String) throws -> AccessLogParser {
        let f = try LogFormat.resolve(name)
        #expect(f.name == name)
        return try AccessLogParser(format: f)
    }

    @Test("traefik_clf: Traefik's CLF lines (beats traefik test.log), bare and quoted referers; a plain CLF line is malformed")
    func traefik() throws {
        let p = try parser("traefik_clf")
        let all = p.parseAll(try Fixtures.lines("beats_traefik_access_test.log"))
        #expect(all.count == 7)
        #expect(all.prefix(6).allSatisfy { $0 != nil })
        #expect(all[6] == nil)  // `127.0.0.1 - frank [...] "GET /apache_pb.gif HTTP/1.0" 200 2326`: CLF, not Traefik's
        let router = try #require(p.customIndex(of: "traefik_router_name"))
        let server = try #require(p.customIndex(of: "traefik_server_url"))
        let duration = try #require(p.customIndex(of: "traefik_duration_ms"))
        let count = try #require(p.customIndex(of: "traefik_request_count"))

        let first = try #require(all[0])
        #expect(first.string(.remoteAddr) == "192.168.33.1")
        #expect(first.record.timeMilliseconds == 1_506_975_727_000)
        #expect(first.string(.path) == "/ui/favicons/favicon-16x16.png")
        #expect(first.record.status == 304)
        #expect(first.record.bodyBytesSent == 0)
        #expect(first.string(.httpUserAgent)?.hasPrefix("Mozilla/5.0 (X11; Linux x86_64)") == true)
        #expect(first.custom(count) == "262")
        #expect(first.custom(router) == "Host-host-1")
        #expect(first.custom(server) == "http://172.19.0.3:5601")
        #expect(first.custom(duration) == "2")

        let bareReferer = try #require(all[2])
        #expect(bareReferer.record.timeMilliseconds == 1_519_839_033_000)
        #expect(bareReferer.string(.proto) == "HTTP/2.0")
        #expect(bareReferer.record.status == 200)
        #expect(bareReferer.record.bodyBytesSent == 2814)
        #expect(bareReferer.custom(duration) == "247")

        let ipv6 = try #require(all[3])
        #expect(ipv6.string(.remoteAddr) == "::1")
        #expect(ipv6.record.timeMilliseconds == 1_543_503_831_000)
        #expect(ipv6.record.status == 404)
        #expect(ipv6.custom(router) == "backend not found")
        #expect(ipv6.custom(server) == "/")
        #expect(ipv6.string(.httpUserAgent) == "curl/7.62.0")

        let query = try #require(all[4])
        #expect(query.string(.path) == "/assets/52f8f2e711d235d76044799e/owners")
        #expect(query.string(.query)?.hasPrefix("oauth_token=ya29.") == true)
        #expect(query.string(.httpUserAgent) == "Android")
    }

    @Test("ingress_nginx: the 29 ingress-nginx lines (beats ingress_controller test.log) parse by name as with the format string")
    func ingress() throws {
        let byName = try parser("ingress_nginx").parseAll(try Fixtures.lines("beats_nginx_ingress_controller_test.log"))
        let byString = try AccessLogParser(format: try LogFormat(string: Fixtures.ingressFormat))
            .parseAll(try Fixtures.lines("beats_nginx_ingress_controller_test.log"))
        #expect(LogFormat.ingressNginxString == Fixtures.ingressFormat)
        #expect(byName.count == 29)
        #expect(byName.map { $0?.record.status } == byString.map { $0?.record.status })
        #expect(byName.map { $0?.record.requestLength } == byString.map { $0?.record.requestLength })
        #expect(byName.compactMap { $0 }.count == byString.compactMap { $0 }.count)
        #expect(byName.compactMap { $0 }.count >= 27)
    }

    @Test("combined_xff: nginx.org's `main` line with its trailing \"$http_x_forwarded_for\" (beats access test.log, line 2)")
    func xff() throws {
        let lines = try Fixtures.lines("beats_nginx_access_test.log")
        let p = try parser("combined_xff")
        let line = try #require(p.parseAll([lines[1]])[0])
        #expect(line.string(.remoteAddr) == "172.17.0.1")
        #expect(line.record.timeMilliseconds == 1_496_084_568_000)
        #expect(line.record.status == 404)
        #expect(line.record.bodyBytesSent == 612)
        #expect(line.string(.httpXForwardedFor) == nil)  // "-": absent
        #expect(line.string(.httpUserAgent) == "Mozilla/5.0 (Windows NT 6.1; rv:15.0) Gecko/20120716 Firefox/15.0a2")
        // A combined line without the field is not this format.
        #expect(p.parseAll([lines[3]])[0] == nil)
    }

    @Test("combined_host: the line that starts with its virtual host (beats access.log, line 13)")
    func host() throws {
        let lines = try Fixtures.lines("beats_nginx_access.log")
        let p = try parser("combined_host")
        let line = try #require(p.parseAll([lines[12]])[0])
        #expect(line.string(.host) == "lessons.example.com")
        #expect(line.string(.remoteAddr) == "192.168.0.1")
        #expect(line.record.timeMilliseconds == 1_591_729_839_000)
        #expect(line.record.status == 206)
        #expect(line.record.bodyBytesSent == 7_648_063)
    }

    @Test("an unknown name lists the named formats")
    func unknown() {
        #expect {
            _ = try LogFormat.resolve("traefik")
        } throws: { error in
            "\(error)".contains("traefik_clf") && "\(error)".contains("ingress_nginx") && "\(error)".contains("combined_xff")
        }
    }
}
