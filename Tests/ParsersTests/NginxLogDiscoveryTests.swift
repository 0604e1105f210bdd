import Parsers
import Testing

/// Every kind of `access_log` directive (ngx_http_log_module) sorted into what it is, and the
/// format picked for a file (also rotated copies and paths with variables).
@Suite("NGINX access_log discovery")
struct NginxLogDiscoveryTests {
    static let text = #"""
        # configuration file /etc/nginx/nginx.conf:
        http {
            log_format main '$remote_addr [$time_local] "$request" $status $body_bytes_sent';
            log_format js escape=json '{"t":"$time_iso8601","r":"$request","s":$status}';
            access_log /var/log/nginx/access.log main;
            access_log syslog:server=10.0.0.1:514,tag=nginx combined;
            map $status $loggable { ~^[23] 0; default 1; }
            # configuration file /etc/nginx/sites-enabled/clowder:
            server {
                access_log /var/log/nginx/errors.log js if=$loggable;
                access_log /var/log/nginx/vhost-$host.log;
                access_log logs/relative.log main;
                access_log /dev/stdout main;
                access_log /var/log/nginx/other.log nope;
                location /static/ { access_log off; }
                location /again/ { access_log /var/log/nginx/access.log main buffer=32k; }
                location /clash/ { access_log /var/log/nginx/access.log js; }
            }
        }
        """#

    @Test("files, if=, variables, off, syslog:, streams, relative paths, undefined and conflicting formats")
    func kinds() throws {
        let config = try NginxConfig(text: Self.text, file: "nginx-T")
        #expect(config.configurationFiles == ["/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/clowder"])
        let d = NginxLogDiscovery(config: config)
        #expect(d.findings.map(\.kind) == [
            .file, .syslog, .conditional, .variablePath, .relative, .stream, .undefinedFormat, .off, .file, .conflictingFormats,
        ])
        #expect(d.findings.map(\.tailed) == [true, false, true, true, false, false, false, false, true, true])
        #expect(d.findings.map(\.line) == [5, 6, 10, 11, 12, 13, 14, 15, 16, 17])
        #expect(d.logs.map(\.path) == ["/var/log/nginx/access.log", "/var/log/nginx/errors.log", "/var/log/nginx/vhost-*.log"])
        #expect(d.logs.map { $0.format.name } == ["main", "js", "combined"])
        #expect(d.logs[0].lines == [5, 16])
        #expect(d.logs[1].conditions == ["$loggable"])
        #expect(d.logs[1].format.escape == .json)
        #expect(d.logs[2].isGlob)
        #expect(d.findings[2].detail.contains("$loggable"))
        #expect(d.findings[9].detail.contains("line 5"))
    }

    @Test("the format for a file: by path, rotated name, glob; nil for a file no access_log writes")
    func formatForFile() throws {
        let d = NginxLogDiscovery(config: try NginxConfig(text: Self.text))
        #expect(d.log(for: "/var/log/nginx/access.log")?.format.name == "main")
        #expect(d.log(for: "/var/log/nginx/access.log.1")?.format.name == "main")
        #expect(d.log(for: "/var/log/nginx/access.log.12.gz")?.format.name == "main")
        #expect(d.log(for: "/var/log/nginx/access.log-20261201")?.format.name == "main")
        #expect(d.log(for: "/var/log/nginx/errors.log")?.format.name == "js")
        #expect(d.log(for: "/var/log/nginx/vhost-clowder.example.org.log")?.format.name == "combined")
        #expect(d.log(for: "/var/log/nginx/vhost-a.log.3.gz")?.format.name == "combined")
        #expect(d.log(for: "/var/log/nginx/unknown.log") == nil)
        #expect(d.log(for: "/var/log/nginx/access.logx") == nil)
    }
}
