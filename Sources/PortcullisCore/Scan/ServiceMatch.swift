/// Turns what a port answered into a `ScanService`. Pure functions over
/// bytes; every string they return that came off the network is escaped
/// (UntrustedText) and capped, so a banner cannot forge output or move the
/// terminal cursor.
public enum ServiceMatch {
    /// Most raw bytes of a banner kept (before escaping).
    public static let bannerBytes = 160
    /// Most raw bytes of a product or version string kept.
    static let fieldBytes = 48

    /// The first line of `bytes`, without its line ending, capped and escaped.
    public static func banner<C: Collection>(_ bytes: C, maxBytes: Int = bannerBytes) -> String? where C.Element == UInt8 {
        var line = Array(bytes.prefix { $0 != 0x0a }.prefix(maxBytes))
        while let last = line.last, last == 0x0d || last == 0x20 || last == 0 { line.removeLast() }
        guard !line.isEmpty else { return nil }
        return UntrustedText.escape(trimIncompleteUTF8(line))
    }

    /// A short field (product, version), capped and escaped.
    static func field<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
        let capped = Array(bytes.prefix(fieldBytes))
        guard !capped.isEmpty else { return nil }
        return UntrustedText.escape(trimIncompleteUTF8(capped))
    }

    static func field(_ text: Substring) -> String? { field(Array(text.utf8)) }

    /// Most raw bytes of an extra-info string kept.
    static let infoBytes = 96

    /// An extra-info string, capped at `infoBytes` and escaped.
    static func info(_ text: String) -> String? {
        let capped = Array(text.utf8.prefix(infoBytes))
        guard !capped.isEmpty else { return nil }
        return UntrustedText.escape(trimIncompleteUTF8(capped))
    }

    /// Drops a multi-byte UTF-8 sequence cut by a cap, so the cap does not
    /// turn a valid character into `\x..` escapes.
    static func trimIncompleteUTF8(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        var back = 0
        while end > 0, back < 3, bytes[end - 1] & 0xc0 == 0x80 {
            end -= 1
            back += 1
        }
        guard end > 0 else { return bytes }
        let lead = bytes[end - 1]
        let needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1
        if needed > 1, needed > back + 1 { return Array(bytes[..<(end - 1)]) }
        return bytes
    }

    /// Lines of a text reply (split on LF, a trailing CR dropped), at most
    /// `limit`. Split as bytes: in a Swift String "\r\n" is one Character.
    static func lines(_ bytes: [UInt8], limit: Int = 64) -> [Substring] {
        var out: [Substring] = []
        var start = 0
        let end = min(bytes.count, 16_384)
        while out.count < limit {
            let stop = bytes[start..<end].firstIndex(of: 0x0a) ?? end
            var lineEnd = stop
            if lineEnd > start, bytes[lineEnd - 1] == 0x0d { lineEnd -= 1 }
            out.append(Substring(String(decoding: bytes[start..<lineEnd], as: UTF8.self)))
            if stop == end { break }
            start = stop + 1
        }
        return out
    }

    // MARK: Dispatch

    /// Tries every matcher on a reply, most specific first. `hint` is the
    /// services-table name, used only to settle a greeting both FTP and
    /// SMTP could have sent.
    public static func identify(_ bytes: [UInt8], hint: String? = nil) -> ScanService? {
        guard !bytes.isEmpty else { return nil }
        return ssh(bytes) ?? http(bytes) ?? mysql(bytes) ?? redis(bytes) ?? postgresError(bytes)
            ?? memcached(bytes) ?? lineGreeting(bytes, hint: hint) ?? vsftpdRefusal(bytes) ?? vnc(bytes) ?? telnet(bytes)
    }

    // MARK: SSH

    /// `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3` → ssh, OpenSSH, version
    /// "9.2p1 Debian 2+deb12u3", extra info "protocol 2.0" (nmap's reading:
    /// a Debian or Ubuntu package revision is part of the version; a FreeBSD
    /// patch date goes to the extra info). RFC 4253 lets a server send other
    /// lines before its identification.
    public static func ssh(_ bytes: [UInt8]) -> ScanService? {
        guard let line = lines(bytes, limit: 8).first(where: { $0.hasPrefix("SSH-") }) else { return nil }
        // SSH-protoversion-softwareversion SP comments
        let afterPrefix = line.dropFirst(4)
        guard let dash = afterPrefix.firstIndex(of: "-") else { return nil }
        let protocolVersion = afterPrefix[..<dash]
        guard protocolVersion.allSatisfy({ $0.isNumber || $0 == "." }), !protocolVersion.isEmpty else { return nil }
        let software = afterPrefix[afterPrefix.index(after: dash)...].prefix { $0 != " " }
        let comment = afterPrefix[afterPrefix.index(after: dash)...].dropFirst(software.count).drop { $0 == " " }
        var product: Substring = software
        var version: Substring?
        if let underscore = software.firstIndex(of: "_") {
            product = software[..<underscore]
            version = software[software.index(after: underscore)...]
        } else if let dash = software.lastIndex(of: "-"), software[software.index(after: dash)...].first?.isNumber == true {
            product = software[..<dash]
            version = software[software.index(after: dash)...]
        }
        let known: [String: String] = [
            "OpenSSH": "OpenSSH", "dropbear": "Dropbear sshd", "libssh": "libssh",
            "paramiko": "Paramiko", "AsyncSSH": "AsyncSSH", "Go": "Go x/crypto/ssh",
        ]
        var fullVersion = version.map(String.init)
        var extra = ["protocol " + protocolVersion]
        if product == "OpenSSH", let base = fullVersion, !comment.isEmpty {
            // "Debian-2+deb12u3", "Ubuntu-3ubuntu13.5", "FreeBSD-20240806"
            let distribution = comment.prefix { $0 != "-" && $0 != "_" && $0 != " " }
            let revision = comment.dropFirst(distribution.count + 1)
            switch distribution {
            case "Debian", "Ubuntu":
                if !revision.isEmpty { fullVersion = base + " " + distribution + " " + revision }
                if distribution == "Ubuntu" || revision.lowercased().contains("ubuntu") {
                    extra.insert("Ubuntu Linux", at: 0)
                }
            case "FreeBSD":
                extra.insert(revision.isEmpty ? "FreeBSD" : "FreeBSD " + revision, at: 0)
            default:
                break
            }
        }
        return ScanService(
            name: "ssh", product: known[String(product)] ?? field(product), version: fullVersion.flatMap { field(Array($0.utf8)) },
            extraInfo: info(extra.joined(separator: "; ")), banner: banner(Array(line.utf8)), method: .probed)
    }

    // MARK: HTTP

    /// A status line and headers: product and version from `Server:`.
    /// RTSP and SIP share the layout and are named for what they are.
    public static func http(_ bytes: [UInt8]) -> ScanService? {
        let all = lines(bytes, limit: 64)
        guard let status = all.first else { return nil }
        let name: String
        if status.hasPrefix("HTTP/1.") || status.hasPrefix("HTTP/2") || status.hasPrefix("HTTP/0.9") {
            name = "http"
        } else if status.hasPrefix("RTSP/1.") {
            name = "rtsp"
        } else if status.hasPrefix("SIP/2.0") {
            name = "sip"
        } else {
            return nil
        }
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[1].count == 3, parts[1].allSatisfy(\.isNumber) else { return nil }
        var product: String?
        var version: String?
        var extra: String?
        for header in all.dropFirst() {
            if header.isEmpty { break }
            guard let colon = header.firstIndex(of: ":") else { continue }
            let key = header[..<colon].lowercased()
            guard key == "server" || (name == "sip" && key == "user-agent") else { continue }
            let value = header[header.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            (product, version) = productAndVersion(value)
            if value.hasPrefix("Apache/") {
                // "Apache/2.4.57 (Debian) OpenSSL/3.0.11": nmap's extra info is the rest.
                let rest = value.drop { $0 != " " }.drop { $0 == " " }
                extra = rest.isEmpty ? nil : info(String(rest))
            }
            break
        }
        return ScanService(
            name: name, product: product, version: version, extraInfo: extra, banner: banner(Array(status.utf8)),
            method: .probed)
    }

    /// `nginx/1.22.1`, `Apache/2.4.57 (Debian)`, `SimpleHTTP/0.6 Python/3.11.2`:
    /// the first product token, split at its slash.
    static func productAndVersion(_ value: Substring) -> (String?, String?) {
        let token = value.prefix { $0 != " " }
        guard !token.isEmpty else { return (nil, nil) }
        let names: [String: String] = [
            "Apache": "Apache httpd", "Microsoft-IIS": "Microsoft IIS httpd",
            "SimpleHTTP": "Python SimpleHTTPServer", "lighttpd": "lighttpd",
        ]
        guard let slash = token.firstIndex(of: "/") else {
            // "Apache" alone, or a server name with spaces ("Caddy", "Jetty(9.4.z)").
            return (names[String(token)] ?? field(value.prefix(fieldBytes)), nil)
        }
        let name = token[..<slash]
        let version = token[token.index(after: slash)...]
        return (names[String(name)] ?? field(name), version.isEmpty ? nil : field(version))
    }

    // MARK: HTTP admin APIs

    /// The status code of an HTTP response; nil when `bytes` is not one.
    static func httpStatus(_ bytes: [UInt8]) -> Int? {
        guard let status = lines(bytes, limit: 1).first, status.hasPrefix("HTTP/") else { return nil }
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[1].count == 3 else { return nil }
        return Int(parts[1])
    }

    /// The first value of header `name` (case-insensitive).
    static func httpHeader(_ bytes: [UInt8], _ name: String) -> Substring? {
        for line in lines(bytes, limit: 64).dropFirst() {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name else { continue }
            return line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
        }
        return nil
    }

    /// The bytes after the header block; nil before the blank line arrived.
    static func httpBody(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0a {
                if bytes[i + 1] == 0x0a { return bytes[(i + 2)...] }
                if bytes[i + 1] == 0x0d, i + 2 < bytes.count, bytes[i + 2] == 0x0a { return bytes[(i + 3)...] }
            }
            i += 1
        }
        return nil
    }

    /// The string at `path` in a JSON object (`["version", "number"]`).
    static func jsonString(_ value: JSONValue, _ path: [String]) -> String? {
        var current = value
        for key in path {
            guard case .object(let fields) = current, let next = fields.first(where: { $0.0 == key })?.1 else { return nil }
            current = next
        }
        if case .string(let text) = current { return text }
        return nil
    }

    /// Whether an answer to `GET /` deserves a `GET /version`: the Docker
    /// Engine API (its `Api-Version` header), or Go's default "404 page not
    /// found", which etcd and other Go daemons send for `/`.
    public static func httpWantsVersion(_ bytes: [UInt8]) -> Bool {
        if httpHeader(bytes, "api-version") != nil || httpHeader(bytes, "server")?.hasPrefix("Docker/") == true { return true }
        guard httpStatus(bytes) == 404, let body = httpBody(bytes) else { return false }
        return Array(body) == Array("404 page not found\n".utf8)
    }

    /// Names an HTTP admin API from its answer to `request` (`GET /` or
    /// `GET /version`) and says whether it answered without credentials:
    /// - Docker Engine API: `Api-Version` header; `GET /version` answered 200
    ///   with JSON holding `ApiVersion` is unauthenticated access.
    /// - Elasticsearch: `GET /` answered 200 with JSON holding `cluster_name`
    ///   and `version.number` is unauthenticated; a 401 (security on) is not.
    /// - etcd: `GET /version` JSON with `etcdserver`. That endpoint is public
    ///   even with etcd's authentication on, so it is no evidence of access.
    /// Anything else, and any 401 or 403, leaves `service` as it was.
    public static func httpAPI(_ service: ScanService, response bytes: [UInt8], request: String) -> ScanService {
        var service = service
        guard let status = httpStatus(bytes) else { return service }
        let body = httpBody(bytes) ?? []
        let json = try? JSONValue.parse(Array(body.prefix(16_384)), maxDepth: 32, nonIntegers: .keepAsString)
        if let apiVersion = httpHeader(bytes, "api-version"), let server = httpHeader(bytes, "server"), server.hasPrefix("Docker/") {
            service.product = "Docker remote API"
            service.version = field(server.dropFirst("Docker/".count).prefix { $0 != " " })
            service.extraInfo = field("API " + apiVersion)
            if status == 200, let json, let reported = jsonString(json, ["ApiVersion"]) {
                service.version = field(Substring(jsonString(json, ["Version"]) ?? "")) ?? service.version
                service.extraInfo = field(Substring("API " + reported))
                service.unauthenticated = UnauthenticatedAccess(request: request, answer: banner(body) ?? "")
            }
            return service
        }
        guard let json else { return service }
        if status == 401,
            jsonString(json, ["error", "type"]) == "security_exception"
                || httpHeader(bytes, "www-authenticate")?.contains("realm=\"security\"") == true
        {
            // Elasticsearch with security on: named, and no evidence of access.
            service.product = "Elasticsearch REST API"
            return service
        }
        if let cluster = jsonString(json, ["cluster_name"]), let number = jsonString(json, ["version", "number"]) {
            service.product = "Elasticsearch REST API"
            service.version = field(Substring(number))
            var extra: [String] = []
            if let name = jsonString(json, ["name"]) { extra.append("name: " + name) }
            extra.append("cluster: " + cluster)
            if let lucene = jsonString(json, ["version", "lucene_version"]) { extra.append("Lucene " + lucene) }
            service.extraInfo = info(extra.joined(separator: "; "))
            if status == 200 {
                service.unauthenticated = UnauthenticatedAccess(
                    request: request, answer: banner(Array("cluster_name \(cluster), version \(number)".utf8)) ?? "")
            }
        } else if let server = jsonString(json, ["etcdserver"]), status == 200 {
            service.product = "etcd"
            service.version = field(Substring(server))
            if let cluster = jsonString(json, ["etcdcluster"]) { service.extraInfo = field(Substring("cluster version " + cluster)) }
        }
        return service
    }

    /// nginx's answer to plain HTTP on a TLS port: the port speaks TLS.
    public static func isPlainHTTPToTLSPort(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        return text.hasPrefix("HTTP/")
            && (text.contains("plain HTTP request was sent to HTTPS port")
                || text.contains("speaking plain HTTP to an SSL-enabled server port"))
    }

    // MARK: Line greetings: FTP, SMTP, POP3, IMAP

    /// 220 (FTP or SMTP), +OK (POP3), * OK / * PREAUTH (IMAP), with the
    /// product when the greeting names a well-known one.
    public static func lineGreeting(_ bytes: [UInt8], hint: String? = nil) -> ScanService? {
        guard let first = lines(bytes, limit: 1).first, !first.isEmpty else { return nil }
        let text = String(first)
        let shown = banner(Array(first.utf8))
        if text.hasPrefix("+OK") {
            let (product, version) = mailProduct(text, protocol: "pop3d")
            return ScanService(name: "pop3", product: product, version: version, banner: shown, method: .probed)
        }
        if text.hasPrefix("* OK") || text.hasPrefix("* PREAUTH") {
            let (product, version) = mailProduct(text, protocol: "imapd")
            return ScanService(name: "imap", product: product, version: version, banner: shown, method: .probed)
        }
        guard text.hasPrefix("220") else { return nil }
        // A multi-line reply ("220-Welcome", ..., "220 ProFTPD ready") may name
        // the product on any of its lines.
        let whole = lines(bytes, limit: 12).filter { $0.hasPrefix("220") }.joined(separator: " ")
        let upper = whole.uppercased()
        let smtpWords = ["SMTP", "POSTFIX", "EXIM", "SENDMAIL", "MAIL SERVICE"]
        let ftpWords = ["FTP", "FILEZILLA"]
        let isSMTP: Bool
        if smtpWords.contains(where: upper.contains) {
            isSMTP = true
        } else if ftpWords.contains(where: upper.contains) {
            isSMTP = false
        } else if let hint, ["smtp", "submission", "submissions", "smtps", "lmtp"].contains(hint) {
            isSMTP = true
        } else if let hint, ["ftp", "ftps"].contains(hint) {
            isSMTP = false
        } else {
            // A bare "220 ready": either protocol. Say what the port said.
            return ScanService(name: hint ?? "unknown", banner: shown, method: hint == nil ? .probed : .table)
        }
        let (product, version) = isSMTP ? smtpProduct(whole) : ftpProduct(whole)
        return ScanService(name: isSMTP ? "smtp" : "ftp", product: product, version: version, banner: shown, method: .probed)
    }

    /// The word after `marker` (a version number), when it starts with a digit.
    static func word(after marker: String, in text: String) -> String? {
        guard let after = text.suffix(after: marker) else { return nil }
        let rest = after.drop { $0 == " " }
        let token = rest.prefix { !$0.isWhitespace && $0 != ")" && $0 != "]" && $0 != ";" && $0 != "," }
        guard token.first?.isNumber == true else { return nil }
        return field(token)
    }

    static func smtpProduct(_ text: String) -> (String?, String?) {
        if text.contains("Postfix") { return ("Postfix smtpd", nil) }
        if text.contains("Exim") { return ("Exim smtpd", word(after: "Exim", in: text)) }
        if text.contains("Sendmail") {
            // "Sendmail 8.15.2/8.15.2;": the first number is the binary's.
            return ("Sendmail", word(after: "Sendmail", in: text).map { String($0.prefix { $0 != "/" }) })
        }
        if text.contains("OpenSMTPD") { return ("OpenSMTPD", nil) }
        if text.contains("Haraka") { return ("Haraka smtpd", word(after: "Haraka", in: text)) }
        if text.contains("Microsoft ESMTP MAIL Service") { return ("Microsoft ESMTP", word(after: "Version:", in: text)) }
        return (nil, nil)
    }

    static func ftpProduct(_ text: String) -> (String?, String?) {
        if text.contains("vsFTPd") { return ("vsftpd", word(after: "vsFTPd", in: text)) }
        if text.contains("ProFTPD") { return ("ProFTPD", word(after: "ProFTPD", in: text)) }
        if text.contains("Pure-FTPd") { return ("Pure-FTPd", nil) }
        if text.contains("FileZilla Server") { return ("FileZilla ftpd", word(after: "FileZilla Server", in: text)) }
        if text.contains("Microsoft FTP Service") { return ("Microsoft ftpd", nil) }
        return (nil, nil)
    }

    static func mailProduct(_ text: String, protocol suffix: String) -> (String?, String?) {
        if text.contains("Dovecot") { return ("Dovecot " + suffix, nil) }
        if text.contains("Courier") { return ("Courier " + suffix, nil) }
        if text.contains("Cyrus") { return ("Cyrus " + suffix, word(after: " v", in: String(text.suffix(after: "Cyrus") ?? ""))) }
        return (nil, nil)
    }

    // MARK: Redis

    /// `+PONG`, the INFO bulk reply (`redis_version:7.0.15`), or Redis's
    /// errors (`-NOAUTH`, `-DENIED` protected mode, its reply to an HTTP GET).
    public static func redis(_ bytes: [UInt8]) -> ScanService? {
        let all = lines(bytes, limit: 200)
        guard let first = all.first else { return nil }
        let isRedis =
            first == "+PONG" || first.hasPrefix("-NOAUTH") || first.hasPrefix("-DENIED Redis")
            || first.hasPrefix("-ERR wrong number of arguments for 'get' command")
            || (first.hasPrefix("$") && all.dropFirst().first == "# Server")
        guard isRedis else { return nil }
        var product = "Redis key-value store"
        var version: String?
        var bannerLine = first
        for line in all {
            if line.hasPrefix("redis_version:"), version == nil {
                version = field(line.dropFirst("redis_version:".count))
            }
            if line.hasPrefix("valkey_version:") {
                product = "Valkey"
                version = field(line.dropFirst("valkey_version:".count))
            }
        }
        if first.hasPrefix("-") { bannerLine = first.dropFirst() }
        // +PONG to PING: the server runs commands without AUTH (a locked one
        // says -NOAUTH, protected mode -DENIED).
        let access = first == "+PONG" ? UnauthenticatedAccess(request: "PING", answer: "+PONG") : nil
        return ScanService(
            name: "redis", product: product, version: version, banner: banner(Array(bannerLine.utf8)),
            method: .probed, unauthenticated: access)
    }

    // MARK: memcached

    /// memcached's text protocol: the reply to `stats` (`STAT pid …`,
    /// `STAT uptime …`, `STAT version 1.6.18`, …, `END`), its refusal when
    /// SASL is on (`CLIENT_ERROR unauthenticated`), or the `ERROR` lines it
    /// answers an HTTP request with (nmap's GetRequest match). Product and
    /// extra info as nmap's: "Memcached", "uptime 42 seconds".
    public static func memcached(_ bytes: [UInt8]) -> ScanService? {
        let all = lines(bytes, limit: 256)
        guard let first = all.first else { return nil }
        if first.hasPrefix("STAT pid ") {
            var version: String?
            var uptime: Substring?
            var evidence: [Substring] = []
            for line in all {
                if line.hasPrefix("STAT version ") {
                    version = field(line.dropFirst("STAT version ".count))
                    evidence.append(line)
                } else if line.hasPrefix("STAT uptime ") {
                    uptime = line.dropFirst("STAT uptime ".count)
                } else if line.hasPrefix("STAT curr_items ") || line.hasPrefix("STAT curr_connections ") {
                    evidence.append(line)
                }
            }
            let extra = uptime.flatMap { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? "uptime \($0) seconds" : nil }
            let answer = banner(Array(evidence.joined(separator: "; ").utf8), maxBytes: bannerBytes) ?? banner(Array(first.utf8)) ?? ""
            return ScanService(
                name: "memcached", product: "Memcached", version: version, extraInfo: extra, banner: banner(Array(first.utf8)),
                method: .probed, unauthenticated: UnauthenticatedAccess(request: "stats", answer: answer))
        }
        if first == "CLIENT_ERROR unauthenticated" {
            return ScanService(name: "memcached", product: "Memcached", banner: banner(Array(first.utf8)), method: .probed)
        }
        // Two or more lines, every one "ERROR": an unknown command per request line.
        let nonEmpty = all.filter { !$0.isEmpty }
        if nonEmpty.count >= 2, nonEmpty.allSatisfy({ $0 == "ERROR" }), bytes.last == 0x0a {
            return ScanService(name: "memcached", product: "Memcached", banner: "ERROR", method: .probed)
        }
        return nil
    }

    // MARK: vsftpd refusing service

    /// vsftpd's "500 OOPS: …" when it cannot serve (misconfigured, or both
    /// local and anonymous logins disabled): nmap names it with the reason.
    public static func vsftpdRefusal(_ bytes: [UInt8]) -> ScanService? {
        guard let first = lines(bytes, limit: 1).first, first.hasPrefix("500 OOPS: ") else { return nil }
        let reason = first.dropFirst("500 OOPS: ".count)
        let detail = reason.hasPrefix("vsftpd: ") ? reason.dropFirst("vsftpd: ".count) : reason
        return ScanService(
            name: "ftp", product: "vsftpd", extraInfo: info("broken: " + detail),
            banner: banner(Array(first.utf8)), method: .probed)
    }

    // MARK: MySQL

    /// The server's first packet: protocol 10 handshake (version string),
    /// or an error packet ("Host ... is not allowed to connect").
    public static func mysql(_ bytes: [UInt8]) -> ScanService? {
        guard bytes.count >= 5 else { return nil }
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        guard bytes[3] == 0, length >= 2, length < 4096, bytes.count >= 4 + min(length, 64) else { return nil }
        let payload = bytes[4..<min(bytes.count, 4 + length)]
        switch payload.first {
        case 0x0a:
            let versionBytes = payload.dropFirst().prefix { $0 != 0 }
            guard versionBytes.count < payload.count - 1, !versionBytes.isEmpty,
                versionBytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f })
            else { return nil }
            let text = String(decoding: versionBytes, as: UTF8.self)
            // MariaDB 10+ prefixes "5.5.5-" for old clients' sake.
            let trimmed = text.hasPrefix("5.5.5-") ? String(text.dropFirst(6)) : text
            if trimmed.contains("MariaDB") {
                return ScanService(
                    name: "mysql", product: "MariaDB", version: field(trimmed.prefix { $0 != "-" }),
                    banner: banner(Array(text.utf8)), method: .probed)
            }
            return ScanService(
                name: "mysql", product: "MySQL", version: field(text.prefix { $0 != "-" }),
                banner: banner(Array(text.utf8)), method: .probed)
        case 0xff:
            guard payload.count > 3 else { return nil }
            var message = payload.dropFirst(3)
            if message.first == 0x23 { message = message.dropFirst(6) }  // "#" + SQLSTATE
            guard let text = banner(message), message.allSatisfy({ $0 >= 0x20 }) else { return nil }
            return ScanService(name: "mysql", banner: text, method: .probed)
        default:
            return nil
        }
    }

    // MARK: PostgreSQL

    /// PostgreSQL's one-byte answer to an SSLRequest: 'S' (TLS available) or 'N'.
    public static func postgresSSLResponse(_ bytes: [UInt8]) -> ScanService? {
        guard bytes.count == 1 else { return postgresError(bytes) }
        switch bytes[0] {
        case UInt8(ascii: "S"): return ScanService(name: "postgresql", product: postgresProduct, banner: "SSL supported", method: .probed)
        case UInt8(ascii: "N"):
            return ScanService(name: "postgresql", product: postgresProduct, banner: "SSL not supported", method: .probed)
        default: return nil
        }
    }

    /// An ErrorResponse ('E', length, then typed NUL-terminated fields):
    /// the banner is its severity and message.
    public static func postgresError(_ bytes: [UInt8]) -> ScanService? {
        guard bytes.count >= 8, bytes[0] == UInt8(ascii: "E") else { return nil }
        let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
        guard length >= 4, length < 65_536 else { return nil }
        var fields: [UInt8: ArraySlice<UInt8>] = [:]
        var i = 5
        let end = min(bytes.count, 1 + length)
        while i < end, bytes[i] != 0 {
            let type = bytes[i]
            let start = i + 1
            guard let stop = bytes[start..<end].firstIndex(of: 0) else { break }
            fields[type] = bytes[start..<stop]
            i = stop + 1
        }
        guard let severity = fields[UInt8(ascii: "S")], let message = fields[UInt8(ascii: "M")] else { return nil }
        // The non-localized severity field 'V' exists from PostgreSQL 9.6 on
        // (nmap reads it the same way: "9.6.0 or later").
        return ScanService(
            name: "postgresql", product: postgresProduct, version: fields[UInt8(ascii: "V")] == nil ? nil : "9.6.0 or later",
            banner: banner(Array(severity) + Array(": ".utf8) + Array(message)), method: .probed)
    }

    /// nmap's name for PostgreSQL.
    public static let postgresProduct = "PostgreSQL DB"

    // MARK: Small ones

    /// `RFB 003.008` → vnc, protocol 3.8.
    public static func vnc(_ bytes: [UInt8]) -> ScanService? {
        guard bytes.count >= 12, bytes.starts(with: Array("RFB ".utf8)), bytes[7] == UInt8(ascii: ".") else { return nil }
        let major = Int(String(decoding: bytes[4..<7], as: UTF8.self)) ?? 0
        let minor = Int(String(decoding: bytes[8..<11], as: UTF8.self)) ?? 0
        return ScanService(name: "vnc", version: "protocol \(major).\(minor)", banner: banner(bytes), method: .probed)
    }

    /// Telnet servers open with option negotiation (IAC DO/WILL ...).
    public static func telnet(_ bytes: [UInt8]) -> ScanService? {
        guard bytes.count >= 3, bytes[0] == 0xff, (0xfb...0xfe).contains(bytes[1]) else { return nil }
        // Any text after the negotiation is the login banner. IAC SB ... IAC SE
        // is variable length; the other commands are three bytes.
        var i = 0
        while i + 2 < bytes.count, bytes[i] == 0xff {
            if bytes[i + 1] == 0xfa {
                guard let se = bytes[(i + 2)...].firstIndex(of: 0xf0) else {
                    i = bytes.count
                    break
                }
                i = se + 1
            } else {
                i += 3
            }
        }
        let text = bytes[min(i, bytes.count)...].drop { $0 == 0x0d || $0 == 0x0a }
        return ScanService(name: "telnet", banner: banner(text), method: .probed)
    }

    // MARK: TLS

    /// The service a TLS flight describes. `name` is what to call the port
    /// ("https", "ssl/…"); `now` (seconds since the epoch) decides `expired`.
    public static func tls(
        hello: TLSServerHello, certificates: [[UInt8]], name: String, now: Int64,
        tls13Only: Bool = false
    ) -> ScanService {
        var details = TLSDetails(version: tls13Only ? "TLSv1.3 only" : hello.versionName, cipher: hello.cipherName)
        var bannerText: String?
        if let first = certificates.first {
            do {
                let certificate = try X509Certificate(der: first)
                details.subject = certificate.subject
                details.issuer = certificate.issuer
                details.notBefore = certificate.notBefore
                details.notAfter = certificate.notAfter
                details.selfSigned = certificate.isSelfSigned
                details.expired = certificate.isExpired(now: now)
            } catch {
                bannerText = "certificate not parsed: \(error)"
            }
        }
        return ScanService(name: name, banner: bannerText, method: .probed, tls: details)
    }

    /// A TLS server that refused the handshake: it speaks TLS, and the alert
    /// says why. protocol_version to a hello offering up to TLS 1.2 means the
    /// server wants 1.3 and nothing older, even when the 1.3 probe that would
    /// confirm it could not be made.
    public static func tls(alert: TLSAlert, name: String) -> ScanService {
        switch alert.code {
        case TLSAlert.protocolVersion:
            return ScanService(
                name: name, banner: "TLS 1.0-1.2 refused (protocol_version)", method: .probed,
                tls: TLSDetails(version: "TLSv1.3 only", cipher: "unknown"))
        case TLSAlert.handshakeFailure:
            return ScanService(
                name: name, banner: "TLS handshake_failure: no protocol version or cipher suite in common",
                method: .probed, tls: TLSDetails(version: "unknown", cipher: "none"))
        default:
            return ScanService(
                name: name, banner: "TLS alert \(alert.name)", method: .probed,
                tls: TLSDetails(version: "unknown", cipher: "none"))
        }
    }
}

extension StringProtocol {
    /// The text after the first occurrence of `marker`, nil when absent
    /// (Foundation's range(of:) is not available in Core).
    fileprivate func suffix(after marker: String) -> SubSequence? {
        let needle = Array(marker.utf8)
        guard !needle.isEmpty else { return self[...] }
        var index = startIndex
        while index < endIndex {
            if self[index...].utf8.starts(with: needle) {
                return self[self.utf8.index(index, offsetBy: needle.count)...]
            }
            index = self.index(after: index)
        }
        return nil
    }
}
