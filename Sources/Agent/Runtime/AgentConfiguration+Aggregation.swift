#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Parsers

extension AgentConfiguration {
    /// The vhost cap: `CLOWDER_METRICS_MAX_VHOSTS` and the `server_name`s of
    /// `CLOWDER_METRICS_NGINX_CONFIG` (none without it: the first hosts seen per window).
    /// - Throws: ``RuntimeError`` `.logFormat` when the NGINX configuration cannot be read or parsed.
    public func resolvedVhostLimit() throws -> VhostLimit {
        guard let path = nginxConfig else { return VhostLimit(maxVhosts: maxVhosts) }
        // The same text the log discovery reads: the file, or `nginx -T`'s output with `auto`.
        let (text, origin, _) = try nginxConfigText()
        do {
            let config = try NginxConfig(text: text, file: origin)
            return VhostLimit(serverNames: config.serverNames, maxVhosts: maxVhosts)
        } catch {
            throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG=\"\(path)\": cannot read its server_names (\(error))")
        }
    }

    /// The key of `$remote_user` pseudonyms (`CLOWDER_METRICS_REMOTE_USER=hash`), or nil (`drop`).
    /// Trailing newlines of the key file are not part of the key.
    /// - Throws: ``RuntimeError`` `.accessLog` naming the key file when it cannot be read or is empty.
    public func remoteUserKey() throws -> [UInt8]? {
        guard let path = remoteUserKeyFile else { return nil }
        do {
            var key = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            while let last = key.last, last == 10 || last == 13 { key.removeLast() }
            guard !key.isEmpty else { throw RuntimeError(.accessLog, "the file is empty") }
            return key
        } catch {
            throw RuntimeError(.accessLog, "CLOWDER_METRICS_REMOTE_USER_KEY_FILE=\"\(path)\": cannot read the key (\(error))")
        }
    }
}
