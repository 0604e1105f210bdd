import Crypto
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// One key from the keys file.
public struct IngestKey: Sendable, Hashable {
    /// What a key may post.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `POST /v1/batches`.
        case batches
        /// `POST /v1/events`.
        case events
    }

    /// How the key is checked.
    public enum Credential: Sendable, Hashable {
        /// A shared HMAC-SHA256 secret for RFC 9421 signatures (`keyid` names it).
        case hmacSecret([UInt8])
        /// The SHA-256 of an `X-API-Key` header value (the key itself is never stored).
        case headerKeySHA256([UInt8])
    }

    /// The key id (`keyid` of the signature; a label for header keys): 1 to
    /// ``maxIDBytes`` printable ASCII bytes without `"`, `\\` or `:` (it
    /// prefixes every `message_id`, an AMQP short string of at most 255 bytes).
    public var id: String
    /// What it may post.
    public var kinds: Set<Kind>
    /// Its secret or hash.
    public var credential: Credential
    /// The agent ids (`batch.agent.id`, the `agent` tag and member) this key may write as; nil = any.
    public var agents: Set<String>?
    /// The hosts (`batch.agent.host`, the `host` tag and member) it may write as; nil = any.
    public var hosts: Set<String>?
    /// The regions (`batch.agent.region`, the `region` tag and member) it may write as; nil = any.
    public var regions: Set<String>?
    /// The file its secret was read from (`hmac:file:`), for `check`'s permission warning.
    public var secretFile: String?

    /// Longest key id, bytes.
    public static let maxIDBytes = 48

    public init(
        id: String, kinds: Set<Kind>, credential: Credential, agents: Set<String>? = nil, hosts: Set<String>? = nil,
        regions: Set<String>? = nil, secretFile: String? = nil
    ) {
        self.id = id
        self.kinds = kinds
        self.credential = credential
        self.agents = agents
        self.hosts = hosts
        self.regions = regions
        self.secretFile = secretFile
    }
}

/// The keys the ingest accepts, read from a file and re-read on SIGHUP
/// (``reload()``). Thread-safe.
///
/// File format: one key per line, `#` comments and blank lines ignored,
/// whitespace-separated fields `<keyid> <kinds> <credential> [bindings…]`:
/// ```
/// # keyid   kinds            credential                                   bindings (optional)
/// web-1     batches,events   hmac:base64:c2VjcmV0LXNlY3JldC1zZWNyZXQ=     agents=web-1 hosts=web-1.example.org
/// probe-eu  batches          hmac:file:/etc/clowder-metrics/probe-eu.key  agents=probe-eu-1,probe-eu-2 regions=eu-west
/// clowder   events           sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
/// ```
/// A binding `agents=`, `hosts=` or `regions=` (comma-separated values) limits
/// what the key may write as: the batch's `agent.id`/`host`/`region` and the
/// `agent`/`host`/`region` tags of its points and members of its events
/// (403 otherwise). A credential holding the placeholder `CHANGE-ME` (as in
/// `deploy/keys.example`) is refused, so an example file never serves.
/// `kinds` is `batches`, `events` or both (comma-separated). Credentials:
/// `hmac:base64:<secret>`, `hmac:hex:<secret>`, `hmac:text:<secret>`,
/// `hmac:file:<path>` (the file's bytes without trailing whitespace, as the agent reads its key file) —
/// HMAC secrets for signatures; `sha256:<64 hex>` — the SHA-256 of an
/// `X-API-Key` value. A malformed line stops the (re)load with `file:line`;
/// a failed reload keeps the previous keys.
public final class KeyStore: Sendable {
    /// The keys file.
    public let path: String
    private let keys = Mutex<[String: IngestKey]>([:])

    /// Reads `path`.
    /// - Throws: ``IngestError`` `keysFile` naming the file and line.
    public init(path: String) throws {
        self.path = path
        try reload()
    }

    /// Keys given directly (tests, embedded use).
    public init(keys: [IngestKey]) {
        self.path = "(memory)"
        self.keys.withLock { k in for key in keys { k[key.id] = key } }
    }

    /// Re-reads the file; on failure the previous keys stay.
    /// - Returns: the number of keys loaded.
    /// - Throws: ``IngestError`` `keysFile`.
    @discardableResult
    public func reload() throws -> Int {
        let parsed = try Self.parse(file: path, text: try Self.read(path))
        keys.withLock { $0 = parsed }
        return parsed.count
    }

    /// The number of keys.
    public var count: Int { keys.withLock { $0.count } }

    /// The HMAC secret of `keyID`, if it is a signature key.
    public func secret(for keyID: String) -> [UInt8]? {
        keys.withLock { k in
            if case .hmacSecret(let s)? = k[keyID]?.credential { return s }
            return nil
        }
    }

    /// The key with this id.
    public func key(_ keyID: String) -> IngestKey? { keys.withLock { $0[keyID] } }

    /// The header key whose SHA-256 equals that of `presented`, compared in
    /// constant time against every header key (no early exit).
    public func headerKey(matching presented: String) -> IngestKey? {
        let digest = Array(SHA256.hash(data: Array(presented.utf8)))
        let all = keys.withLock { Array($0.values) }
        var found: IngestKey?
        for key in all {
            guard case .headerKeySHA256(let hash) = key.credential else { continue }
            if constantTimeEqual(hash, digest) && found == nil { found = key }
        }
        return found
    }

    /// Warnings for `check`: the keys file, or a secret file it names, readable
    /// or writable by users other than its owner and group (mode `o+r` or `o+w`).
    public func permissionWarnings() -> [String] {
        var files = [path]
        files += keys.withLock { $0.values.compactMap(\.secretFile) }.sorted()
        var out: [String] = []
        for f in files {
            var st = stat()
            guard stat(f, &st) == 0 else { continue }
            let mode = st.st_mode & 0o777
            if mode & 0o006 != 0 {
                out.append(
                    "\(f) is \(mode & 0o004 != 0 ? "readable" : "writable") by every user (mode \(String(mode, radix: 8))): chmod o-rwx \(f) (0640 root:clowder-metrics is recommended)")
            }
        }
        return out
    }

    /// The keys file's bytes (``FileContents/read(_:limit:)``: `read(2)` retried on `EINTR`).
    /// - Throws: ``IngestError`` `keysFile` naming the file and the system's reason.
    static func read(_ path: String) throws -> [UInt8] {
        do { return try FileContents.read(path, limit: 64 << 20) } catch {
            throw IngestError(.keysFile, "cannot read keys file \(path)", underlying: error)
        }
    }

    /// Parses the keys file text.
    /// - Throws: ``IngestError`` `keysFile` with `file:line`.
    public static func parse(file: String, text: [UInt8]) throws -> [String: IngestKey] {
        var keys: [String: IngestKey] = [:]
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for (n, raw) in lines.enumerated() {
            let where_ = "\(file):\(n + 1)"
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count >= 3 else {
                throw IngestError(
                    .keysFile, "\(where_): expected '<keyid> <kinds> <credential> [agents=…] [hosts=…] [regions=…]', found \(fields.count) fields")
            }
            let id = String(fields[0])
            guard id.utf8.count <= IngestKey.maxIDBytes,
                id.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: ":") })
            else {
                throw IngestError(
                    .keysFile, "\(where_): keyid '\(id)' must be 1 to \(IngestKey.maxIDBytes) printable ASCII bytes without quotes, backslashes or ':'")
            }
            var kinds: Set<IngestKey.Kind> = []
            for k in fields[1].split(separator: ",") {
                guard let kind = IngestKey.Kind(rawValue: String(k)) else {
                    throw IngestError(.keysFile, "\(where_): kind '\(k)' is not one of batches, events")
                }
                kinds.insert(kind)
            }
            if kinds.isEmpty { throw IngestError(.keysFile, "\(where_): no kinds given (batches, events)") }
            let credentialText = String(fields[2])
            let credential = try parseCredential(credentialText, at: where_)
            if keys[id] != nil { throw IngestError(.keysFile, "\(where_): keyid '\(id)' appears twice") }
            var key = IngestKey(id: id, kinds: kinds, credential: credential)
            if credentialText.hasPrefix("hmac:file:") { key.secretFile = String(credentialText.dropFirst(10)) }
            for option in fields.dropFirst(3) {
                guard let eq = option.firstIndex(of: "=") else {
                    throw IngestError(.keysFile, "\(where_): '\(option)' is not agents=…, hosts=… or regions=…")
                }
                let values = Set(option[option.index(after: eq)...].split(separator: ",").map(String.init))
                guard !values.isEmpty else { throw IngestError(.keysFile, "\(where_): '\(option)' lists no value") }
                switch option[..<eq] {
                case "agents" where key.agents == nil: key.agents = values
                case "hosts" where key.hosts == nil: key.hosts = values
                case "regions" where key.regions == nil: key.regions = values
                case "agents", "hosts", "regions": throw IngestError(.keysFile, "\(where_): '\(option[..<eq])=' is given twice")
                default: throw IngestError(.keysFile, "\(where_): '\(option[..<eq])' is not agents, hosts or regions")
                }
            }
            keys[id] = key
        }
        return keys
    }

    /// The placeholder `deploy/keys.example` carries instead of secrets.
    public static let placeholder = "CHANGE-ME"

    static func parseCredential(_ s: String, at where_: String) throws -> IngestKey.Credential {
        if s.uppercased().contains(placeholder) {
            throw IngestError(
                .keysFile,
                "\(where_): the credential is the placeholder \(placeholder) (as in deploy/keys.example): put a secret there (openssl rand -hex 32 for an HMAC secret; printf %s \"$KEY\" | sha256sum for an X-API-Key)")
        }
        if s.hasPrefix("sha256:") {
            guard let h = hex(s.dropFirst(7)), h.count == 32 else {
                throw IngestError(.keysFile, "\(where_): sha256: must be followed by 64 hex digits (the SHA-256 of the header key)")
            }
            return .headerKeySHA256(h)
        }
        let secret: [UInt8]
        if s.hasPrefix("hmac:base64:") {
            guard let b = base64(s.dropFirst(12)) else { throw IngestError(.keysFile, "\(where_): hmac:base64: value is not base64") }
            secret = b
        } else if s.hasPrefix("hmac:hex:") {
            guard let b = hex(s.dropFirst(9)) else { throw IngestError(.keysFile, "\(where_): hmac:hex: value is not hex") }
            secret = b
        } else if s.hasPrefix("hmac:text:") {
            secret = Array(s.dropFirst(10).utf8)
        } else if s.hasPrefix("hmac:file:") {
            var b = try read(String(s.dropFirst(10)))
            // As the agent reads CLOWDER_METRICS_API_KEY_FILE: trailing whitespace and newlines are not part of the secret.
            while let last = b.last, last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D { b.removeLast() }
            if String(decoding: b, as: UTF8.self).uppercased().contains(placeholder) {
                throw IngestError(.keysFile, "\(where_): the secret file \(s.dropFirst(10)) holds the placeholder \(placeholder): write a secret (openssl rand -hex 32)")
            }
            secret = b
        } else {
            throw IngestError(
                .keysFile, "\(where_): credential must start with hmac:base64:, hmac:hex:, hmac:text:, hmac:file: or sha256:")
        }
        guard secret.count >= 16 else {
            throw IngestError(.keysFile, "\(where_): HMAC secret has \(secret.count) bytes, at least 16 are required")
        }
        return .hmacSecret(secret)
    }

    static func hex(_ s: Substring) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func base64(_ s: Substring) -> [UInt8]? {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = Int8(i) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        var out: [UInt8] = []
        var acc: UInt32 = 0, bits = 0
        for c in s.utf8 {
            if c == UInt8(ascii: "=") { break }
            let d = table[Int(c)]
            if d < 0 { return nil }
            acc = acc << 6 | UInt32(d)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

/// Compares two byte arrays in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for k in 0..<a.count { diff |= a[k] ^ b[k] }
    return diff == 0
}
