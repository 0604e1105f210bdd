/// The access-log formats of Clowder's other front doors, selectable by name wherever a
/// `log_format` name is taken (`CLOWDER_METRICS_LOG_FORMAT`, `parse --log-format`).
///
/// | name | writer | format |
/// |---|---|---|
/// | `combined_xff` | NGINX with nginx.org's `main` format (the official packages' and Docker image's nginx.conf) | `combined` + ` "$http_x_forwarded_for"` |
/// | `combined_host` | NGINX with the virtual host first (Apache's `vhost_combined` habit) | `$host ` + `combined` |
/// | `ingress_nginx` | ingress-nginx (Clowder's Helm chart), its default `log-format-upstream` ("upstreaminfo") | see ``ingressNginxString`` |
/// | `traefik_clf` | Traefik's CLF access log (Clowder's docker-compose) | see ``traefikCLFString`` |
///
/// | `traefik_json` | Traefik's JSON access log | each object is first rewritten as a line of ``traefikJSONString`` by the agent's pipeline |
extension LogFormat {
    /// ingress-nginx's default `log-format-upstream` (ingress-nginx docs, "Log format").
    public static let ingressNginxString =
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id"#

    /// Traefik's CLF line (Traefik docs, "Access Logs", CLF format): `combined` with the referer
    /// written bare (`-` when empty, else quoted, so it is read as one opaque word,
    /// `$traefik_referer`), then the request count, `"router name"`, `"server URL"` and the
    /// duration in milliseconds with the suffix `ms`. Traefik escapes nothing (`escape=none`).
    public static let traefikCLFString =
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent $traefik_referer "$http_user_agent" $traefik_request_count "$traefik_router_name" "$traefik_server_url" ${traefik_duration_ms}ms"#

    /// The line the agent makes of each object of Traefik's JSON access log (`traefik_json`; the
    /// agent's `TraefikJSONTranslator` writes it, with NGINX's default escaping). Traefik's
    /// members vary with its `fields` settings, so the JSON itself is not matched by a pattern.
    public static let traefikJSONString =
        #"$msec $remote_addr "$request" $status $body_bytes_sent $request_length $request_time $host "$http_user_agent" "$http_referer""#

    /// The named formats: name → (format string, escaping).
    public static let namedFormats: [String: (string: String, escape: LogEscape)] = [
        "combined_xff": (combinedString + #" "$http_x_forwarded_for""#, .default),
        "combined_host": ("$host " + combinedString, .default),
        "ingress_nginx": (ingressNginxString, .default),
        "traefik_clf": (traefikCLFString, .none),
        "traefik_json": (traefikJSONString, .default),
    ]

    /// The named format `name`, or nil when it is not one of ``namedFormats``.
    public static func named(_ name: String) -> LogFormat? {
        guard let f = namedFormats[name] else { return nil }
        // The literals are valid by construction.
        return try! LogFormat(string: f.string, escape: f.escape, name: name)
    }
}
