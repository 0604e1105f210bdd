import Parsers
import Testing

/// Every real log in Tests/Fixtures parses with the right number of records, and chosen lines
/// give the values read off the file by hand (epoch times computed from the logged local time
/// and its offset).
@Suite("Real NGINX logs (Tests/Fixtures)")
struct FixtureParsingTests {
    @Test("beats access.log: 13 records, +0200/+0100/-0700 offsets, vhost prefix, 304 and 206")
    func beatsAccess() throws {
        let parser = try AccessLogParser(format: .combined)
        let all = parser.parseAll(try Fixtures.lines("beats_nginx_access.log"))
        #expect(all.count == 13)
        #expect(all.allSatisfy { $0 != nil })
        let first = try #require(all[0])
        #expect(first.string(.remoteAddr) == "77.179.66.156")
        #expect(first.record.timeMilliseconds == 1_477_399_773_000)  // 25/Oct/2016:14:49:33 +0200 = 12:49:33Z
        #expect(first.string(.method) == "GET")
        #expect(first.string(.path) == "/")
        #expect(first.string(.proto) == "HTTP/1.1")
        #expect(first.record.status == 200)
        #expect(first.record.bodyBytesSent == 612)
        #expect(first.string(.httpReferer) == nil)
        #expect(first.string(.remoteUser) == nil)

        let plusOne = try #require(all[3])
        #expect(plusOne.record.timeMilliseconds == 1_481_103_283_000)  // 07/Dec/2016:10:34:43 +0100 = 09:34:43Z

        let notModified = try #require(all[9])
        #expect(notModified.record.status == 304)
        #expect(notModified.record.bodyBytesSent == 0)
        #expect(notModified.string(.remoteAddr) == "127.0.0.1")

        let partial = try #require(all[12])
        #expect(partial.string(.remoteAddr) == "lessons.example.com 192.168.0.1")
        #expect(partial.client() == "192.168.0.1")
        #expect(partial.record.timeMilliseconds == 1_591_729_839_000)  // 09/Jun/2020:12:10:39 -0700 = 19:10:39Z
        #expect(partial.record.status == 206)
        #expect(partial.record.bodyBytesSent == 7_648_063)
        #expect(partial.string(.path) == "/A%20Beka%20G1%20Howe/029_AND_30/15%20reading%20elephants.mp4")
        #expect(partial.string(.query) == nil)
    }

    @Test("beats test.log: 7 records, X-Forwarded-For lists (plain, quoted, IPv6), trailing field, empty request")
    func beatsAccessTest() throws {
        let parser = try AccessLogParser(format: .combined)
        let all = parser.parseAll(try Fixtures.lines("beats_nginx_access_test.log"))
        #expect(all.count == 7)
        #expect(all.allSatisfy { $0 != nil })

        let xff = try #require(all[0])
        #expect(xff.string(.remoteAddr) == "10.0.0.2, 10.0.0.1, 127.0.0.1")
        #expect(xff.addresses() == ["10.0.0.2", "10.0.0.1", "127.0.0.1"])
        #expect(xff.client() == "10.0.0.2")
        #expect(xff.record.timeMilliseconds == 1_481_105_107_000)  // 07/Dec/2016:11:05:07 +0100
        #expect(xff.string(.path) == "/ocelot")

        let trailing = try #require(all[1])  // ends with an extra "-" field
        #expect(trailing.record.status == 404)
        #expect(trailing.record.bodyBytesSent == 612)
        #expect(trailing.string(.httpUserAgent) == "Mozilla/5.0 (Windows NT 6.1; rv:15.0) Gecko/20120716 Firefox/15.0a2")
        #expect(trailing.record.timeMilliseconds == 1_496_084_568_000)  // 29/May/2017:19:02:48 +0000

        let quoted = try #require(all[4])
        #expect(quoted.string(.remoteAddr) == "\"10.5.102.222, 199.96.1.1, 204.246.1.1\" 10.2.1.185")
        #expect(quoted.addresses() == ["10.5.102.222", "199.96.1.1", "204.246.1.1", "10.2.1.185"])
        #expect(quoted.client() == "10.5.102.222")
        #expect(quoted.string(.path) == "/assets/xxxx")
        #expect(quoted.string(.query) == "q=100")
        #expect(quoted.string(.httpUserAgent) == "Amazon CloudFront")
        #expect(quoted.record.bodyBytesSent == 25507)
        #expect(quoted.record.timeMilliseconds == 1_453_468_709_000)  // 22/Jan/2016:13:18:29 +0000

        let ipv6 = try #require(all[5])
        #expect(ipv6.client() == "2a03:0000:10ff:f00f:0000:0000:0:8000")
        #expect(ipv6.addresses() == ["2a03:0000:10ff:f00f:0000:0000:0:8000", "10.225.192.17", "10.2.2.121"])
        #expect(ipv6.record.status == 404)
        #expect(ipv6.record.bodyBytesSent == 8571)

        let empty = try #require(all[6])  // "" 400 0
        #expect(empty.string(.request) == "")
        #expect(empty.string(.method) == nil)
        #expect(empty.string(.path) == nil)
        #expect(empty.record.status == 400)
        #expect(empty.record.bodyBytesSent == 0)
        #expect(empty.record.timeMilliseconds == 1_523_519_320_000)  // 12/Apr/2018:09:48:40 +0200
    }

    @Test("ingress-nginx: 29 records, upstream lists with '-' members, IPv6, HTTP/2.0, bad methods, unix socket")
    func ingress() throws {
        let parser = try AccessLogParser(format: try LogFormat(string: Fixtures.ingressFormat))
        let all = parser.parseAll(try Fixtures.lines("beats_nginx_ingress_controller_test.log"))
        #expect(all.count == 29)
        #expect(all.allSatisfy { $0 != nil })
        let upstreamName = try #require(parser.customIndex(of: "proxy_upstream_name"))
        let reqID = try #require(parser.customIndex(of: "req_id"))

        let first = try #require(all[0])
        #expect(first.string(.method) == "POST")
        #expect(first.string(.path) == "/products")
        #expect(first.record.timeMilliseconds == 1_581_076_131_000)  // 07/Feb/2020:11:48:51 +0000
        #expect(first.record.requestLength == 89)
        #expect(first.record.requestTimeMilliseconds == 1)
        #expect(first.record.requestTime == 0.001)
        #expect(first.custom(upstreamName) == "default-web-8080")
        #expect(first.custom(reqID) == "529a007902362a5f51385a5fa7049884")
        #expect(first.list(.upstreamAddr) == ["172.17.0.5:8080"])
        #expect(first.list(.upstreamStatus) == ["200"])

        let badMethod = try #require(all[4])  // "PATCHp /products/42 HTTP/1.1" 400 … [] [] - - - -
        #expect(badMethod.string(.method) == "PATCHp")
        #expect(badMethod.record.status == 400)
        #expect(badMethod.list(.upstreamAddr) == nil)
        #expect(badMethod.list(.upstreamStatus) == nil)
        #expect(badMethod.custom(upstreamName) == "")

        let two = try #require(all[22])  // two upstream servers
        #expect(two.string(.remoteAddr) == "192.168.64.14")
        #expect(two.list(.upstreamAddr) == ["172.17.0.6:8080", "172.17.0.7:8080"])
        #expect(two.list(.upstreamResponseLength) == ["61", "100"])
        #expect(two.list(.upstreamResponseTime) == ["0.100", "0.004"])
        #expect(two.list(.upstreamStatus) == ["200", "203"])

        let v6 = try #require(all[24])
        #expect(v6.client() == "2a02:cf40::")
        #expect(v6.string(.remoteUser) == "remote_monitoring_user")
        #expect(v6.list(.upstreamAddr) == ["[2a02:cf40::]:9200"])
        #expect(v6.record.timeMilliseconds == 1_661_375_057_000)  // 24/Aug/2022:21:04:17 +0000

        let h2 = try #require(all[25])
        #expect(h2.client() == "2a02:cf40::4e36")
        #expect(h2.string(.proto) == "HTTP/2.0")
        #expect(h2.record.status == 502)
        #expect(h2.record.timeMilliseconds == 1_661_364_341_000)  // 24/Aug/2022:18:05:41 +0000
        #expect(h2.list(.upstreamAddr) == ["[2a02:cf40::7]:5000", "[2a02:cf40::4e36]:5000"])
        #expect(h2.list(.upstreamStatus) == ["502", "502"])

        let broken = try #require(all[26])
        #expect(broken.list(.upstreamAddr) == ["[2a02:cf40::7]:5000", "[2a02:cf40::::::::4e36]:500000000"])

        let unix = try #require(all[27])
        #expect(unix.list(.upstreamAddr) == ["unix:/var/run/php-fpm.sock"])

        let dashes = try #require(all[28])
        #expect(dashes.list(.upstreamResponseLength) == nil)
        #expect(dashes.list(.upstreamResponseTime) == ["0.100", nil])
        #expect(dashes.list(.upstreamStatus) == ["200", nil])
        #expect(dashes.string(.path) == "/test/test.mp4")
    }

    @Test("crowdsec: 12 records without a final newline; TLS and binary junk, HELP, all 400 157")
    func crowdsecJunk() throws {
        let parser = try AccessLogParser(format: .combined)
        let all = parser.parseAll(try Fixtures.lines("crowdsec_nginx_http_malformed.log"))
        #expect(all.count == 12)
        #expect(all.allSatisfy { $0 != nil })
        for p in all.compactMap({ $0 }) {
            #expect(p.record.status == 400)
            #expect(p.record.bodyBytesSent == 157)
            #expect(p.string(.method) == nil)
            #expect(p.string(.path) == nil)
            #expect(p.string(.remoteAddr) == "1.2.3.4")
        }
        let help = try #require(all[4])
        #expect(help.string(.request) == "HELP")
        #expect(help.record.timeMilliseconds == 1_690_651_566_000)  // 29/Jul/2023:10:26:06 -0700 = 17:26:06Z

        let tls = try #require(all[7])
        #expect(tls.record.timeMilliseconds == 1_690_651_567_000)  // 29/Jul/2023:10:26:07 -0700
        let raw = try #require(tls.raw(.request))
        #expect(String(decoding: raw.prefix(21), as: UTF8.self) == #"\x16\x03\x01\x00t\x01"#)
        // escape=default decoded: TLS record header 16 03 01, then 00 't' 01 00 00 'p' 03 01.
        let decoded = raw.withUnsafeBytes { LogEscapeDecoding.decode($0, escape: .default) }
        #expect(Array(decoded.prefix(11)) == [0x16, 0x03, 0x01, 0x00, 0x74, 0x01, 0x00, 0x00, 0x70, 0x03, 0x01])
    }
}
