import Parsers
import Testing

@Suite("LogFormat and NginxConfig (log_format compilation)")
struct LogFormatTests {
    @Test("format strings split into literals and variables, ${name} included")
    func elements() throws {
        let f = try LogFormat(string: #"${remote_addr}x [$time_local] "$request" $status$custom_1"#)
        #expect(f.variables == ["remote_addr", "time_local", "request", "status", "custom_1"])
        #expect(f.elements.first == .variable("remote_addr"))
        #expect(f.elements[1] == .literal(Array("x [".utf8)))
    }

    @Test("bad formats are refused with a clear message")
    func badFormats() {
        #expect(throws: ParserError.self) { try LogFormat(string: "") }
        #expect(throws: ParserError.self) { try LogFormat(string: "$ foo") }
        #expect(throws: ParserError.self) { try LogFormat(string: "${remote_addr") }
        #expect(throws: ParserError.self) { try LogFormat.resolve("main") }
        do {
            _ = try LogFormat.resolve("main")
        } catch {
            #expect("\(error)".contains("\"main\""))
        }
        #expect((try? LogFormat.resolve("combined")) == LogFormat.combined)
    }

    /// `nginx -T` output: several files, a multi-line `log_format` concatenating quoted parts,
    /// `escape=json`, comments, blocks, and an `access_log` naming the format.
    static let nginxT = #"""
        nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
        nginx: configuration file /etc/nginx/nginx.conf test is successful
        # configuration file /etc/nginx/nginx.conf:
        user www-data;
        events { worker_connections 768; }
        http {
            # a comment with a ; and a { inside
            log_format clowder '$remote_addr - $remote_user [$time_local] '
                               '"$request" $status $body_bytes_sent '
                               "\"$http_referer\" \"$http_user_agent\" $request_time $host";
            log_format jsonlog escape=json '{"time":"$time_iso8601",'
                '"addr":"$remote_addr","request":"$request","status":$status,'
                '"bytes":$body_bytes_sent,"ua":"$http_user_agent","rt":$request_time}';
            include /etc/nginx/conf.d/*.conf;
        }
        # configuration file /etc/nginx/conf.d/clowder.conf:
        server {
            listen 80;
            server_name clowder.example.org;
            access_log /var/log/nginx/clowder.log clowder buffer=32k flush=5s;
            location / { proxy_pass http://127.0.0.1:9000; }
        }
        """#

    @Test("nginx -T: multi-line log_format with concatenated quoted parts, and the format access_log uses")
    func nginxT() throws {
        let config = try NginxConfig(text: Self.nginxT, file: "nginx-T.txt")
        #expect(config.logFormatNames == ["clowder", "jsonlog"])
        let clowder = try #require(config.logFormats["clowder"])
        #expect(clowder.string
            == #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $host"#)
        #expect(clowder.escape == .default)
        #expect(config.accessLogs == [NginxConfig.AccessLog(path: "/var/log/nginx/clowder.log", formatName: "clowder", line: 20)])
        #expect(try config.selectFormat(name: nil) == clowder)
        #expect(try config.selectFormat(name: "jsonlog").escape == .json)
        #expect(try config.selectFormat(name: "combined") == LogFormat.combined)
        #expect(throws: ParserError.self) { try config.selectFormat(name: "nope") }

        let parser = try AccessLogParser(format: clowder)
        let p = try #require(parser.parsed(
            #"203.0.113.9 - alice [01/Jun/2026:00:00:05 +0000] "GET /clowder/ HTTP/1.1" 200 512 "-" "curl/8.5.0" 0.042 clowder.example.org"#))
        #expect(p.string(.host) == "clowder.example.org")
        #expect(p.record.requestTimeMilliseconds == 42)
        #expect(p.string(.remoteUser) == "alice")
        #expect(p.record.timeMilliseconds == 1_780_272_005_000)  // 2026-06-01T00:00:05Z
    }

    @Test("nginx -T errors name the file and line")
    func nginxTErrors() {
        do {
            _ = try NginxConfig(text: "http {\n log_format x '$remote_addr\n", file: "bad.conf")
            Issue.record("expected an error")
        } catch let e as ParserError {
            #expect(e.code == .config)
            #expect(e.file == "bad.conf")
            #expect(e.line == 2)
        } catch { Issue.record("unexpected \(error)") }
        do {
            let c = try NginxConfig(text: "log_format a '$remote_addr [$time_local]'; log_format b '$msec';")
            _ = try c.selectFormat(name: nil)
            Issue.record("expected an ambiguity error")
        } catch let e as ParserError {
            #expect(e.message.contains("--log-format"))
        } catch { Issue.record("unexpected \(error)") }
        #expect((try? NginxConfig(text: "events {}").selectFormat(name: nil)) == LogFormat.combined)
    }

    @Test("escape=json: JSON string escapes decoded, \\\" inside a quoted value")
    func escapeJSON() throws {
        let config = try NginxConfig(text: Self.nginxT)
        let parser = try AccessLogParser(format: try config.selectFormat(name: "jsonlog"))
        let line = #"{"time":"2026-06-01T02:00:05+02:00","addr":"198.51.100.7","request":"GET /a?q=\"x\" HTTP/1.1","status":200,"bytes":10,"ua":"Agent \"Q\"\\1\u0007\n","rt":1.5}"#
        let p = try #require(parser.parsed(line))
        #expect(p.record.timeMilliseconds == 1_780_272_005_000)  // 02:00:05+02:00 = 00:00:05Z
        #expect(p.string(.httpUserAgent) == "Agent \"Q\"\\1\u{07}\n")
        #expect(p.string(.method) == "GET")
        #expect(p.string(.query) == "q=\"x\"")
        #expect(p.string(.target) == "/a?q=\"x\"")
        #expect(p.record.status == 200)
        #expect(p.record.requestTimeMilliseconds == 1500)
    }

    @Test("escape=default: \\xHH decoded to bytes; a format without quotes around text still parses")
    func escapeDefault() throws {
        let parser = try AccessLogParser(format: .combined)
        let p = try #require(parser.parsed(
            #"192.0.2.1 - - [01/Jun/2026:00:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "A \x22quoted\x22 \x5C agent""#))
        #expect(p.string(.httpUserAgent) == #"A "quoted" \ agent"#)
        let bare = try AccessLogParser(format: try LogFormat(string: "$msec $status $request_method $uri $args"))
        let q = try #require(bare.parsed("1780272000.250 404 GET /files/abc a=1&key=s"))
        #expect(q.record.timeMilliseconds == 1_780_272_000_250)
        #expect(q.string(.method) == "GET")
        #expect(q.string(.path) == "/files/abc")
        #expect(q.string(.query) == "a=1&key=s")
    }

    @Test("non-matching lines are malformed; trailing fields after a space are tolerated")
    func malformed() throws {
        let parser = try AccessLogParser(format: try LogFormat(string: #"$remote_addr [$time_local] "$request" $status $request_time"#))
        #expect(parser.parsed(#"1.2.3.4 [01/Jun/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0.001"#) != nil)
        #expect(parser.parsed(#"1.2.3.4 [01/Jun/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0.001 extra"#) != nil)
        #expect(parser.parsed(#"1.2.3.4 [01/Jun/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0.001x"#) == nil)
        #expect(parser.parsed(#"1.2.3.4 [01/Jun/2026:00:00:00 +0000] "GET / HTTP/1.1" 200"#) == nil)
        #expect(parser.parsed(#"1.2.3.4 [01/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0.001"#) == nil)
        #expect(parser.parsed(#"\x00\x01 not a log line 42"#) == nil)
        #expect(parser.parsed("") == nil)
        // The time of a cut line is still found, for the window of its malformed_lines.
        let cut = Array(#"1.2.3.4 [01/Jun/2026:00:01:00 +0000] "GET / HTTP/1.1" 200"#.utf8)
        #expect(cut.withUnsafeBytes { parser.recoverTime($0) } == 1_780_272_060_000)
    }

    @Test("the compiled pattern is anchored text PCRE2 accepts, one group per variable")
    func pattern() throws {
        let parser = try AccessLogParser(format: .combined)
        // $remote_addr: runs up to the first " - ", no lazy quantifier (PatternBuilder).
        #expect(parser.pattern.hasPrefix(#"([^\x{20}]++(?:\x{20}(?!\- )[^\x{20}]*+)*+) \- "#))
        #expect(!parser.pattern.contains(".+?"))
        #expect(parser.pattern.filter { $0 == "(" }.count >= 8)
        #expect(parser.logs(.httpUserAgent))
        #expect(!parser.logs(.requestTime))
        #expect(parser.logs(.method))
    }
}
