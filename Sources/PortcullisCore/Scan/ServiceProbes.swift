/// Service detection as a state machine with no I/O: the caller owns the
/// socket and the clock, feeds the session what happened, and the session
/// says what to do next (`ServiceDetector` in PortcullisScan drives it over
/// a blocking socket; tests drive it with recorded replies).
///
///     var session = ServiceProbeSession(port: 443, tableName: "https", hostname: "example.com", now: epochSeconds)
///     var action = session.start()            // after the TCP connect succeeded
///     loop: switch action {
///     case .step(let step):  // reconnect if step.reconnect; send step.payload;
///                            // deadline = now + step.timeoutMilliseconds
///     case .read:            // keep reading, same deadline
///     case .done(let service): break loop
///     }
///     // then: action = session.next(.received(bytes) / .timedOut / .closed / .connectFailed)

/// One kind of probe.
public enum ServiceProbeKind: String, Sendable, Hashable, CaseIterable {
    /// Send nothing; wait for the service to speak first (SSH, SMTP, FTP, POP3, IMAP, MySQL).
    case greeting
    /// `GET / HTTP/1.0` with a Host header.
    case http
    /// `PING` and `INFO server`, pipelined.
    case redis
    /// PostgreSQL's SSLRequest; an 'S' answer continues with a TLS ClientHello.
    case postgresSSL = "postgres-ssl"
    /// A ClientHello offering TLS 1.0–1.2 (certificate visible).
    case tls
    /// A ClientHello offering TLS 1.3 only, after the 1.2 hello was refused.
    case tls13
    /// memcached's `stats` (read-only; answers version, uptime and counters).
    case memcached
    /// `GET /version HTTP/1.0`: the Docker Engine API, etcd.
    case httpVersion = "http-version"
    /// A PostgreSQL StartupMessage for protocol 0.0, which every server
    /// refuses with an ErrorResponse before any authentication.
    case postgresStartup = "postgres-startup"
    /// DNS over TCP: `version.bind` TXT in class CHAOS.
    case dnsVersion = "dns-version"
    /// Two empty lines (nmap's GenericLines): line protocols that ignore an
    /// HTTP request answer these (memcached 1.6 drops a connection that
    /// starts "GET / HTTP", and says `ERROR` to each empty line).
    case lines
}

/// Time and size limits of each probe; the engine enforces them.
public struct ServiceProbeLimits: Sendable, Hashable {
    /// Wait for an unsolicited greeting on a port whose service is unknown.
    public var greetingMilliseconds: Int
    /// Wait for the answer to a request, or for a greeting the port's service is known to send.
    public var responseMilliseconds: Int
    /// Most bytes read for one plain-text probe.
    public var maxResponseBytes: Int
    /// Most bytes read for a TLS probe (certificate chains run to tens of KiB).
    public var maxTLSBytes: Int

    /// Limits in milliseconds and bytes; the defaults wait 1.5 s for a greeting and 3 s for an
    /// answer, and read up to 8 KiB (64 KiB for TLS).
    public init(
        greetingMilliseconds: Int = 1500, responseMilliseconds: Int = 3000, maxResponseBytes: Int = 8192,
        maxTLSBytes: Int = 65_536
    ) {
        self.greetingMilliseconds = greetingMilliseconds
        self.responseMilliseconds = responseMilliseconds
        self.maxResponseBytes = maxResponseBytes
        self.maxTLSBytes = maxTLSBytes
    }

    /// One timeout for answers; unknown ports wait half of it for a greeting
    /// (a service that speaks first does so at once).
    public init(timeoutMilliseconds: Int) {
        self.init(greetingMilliseconds: max(1, timeoutMilliseconds / 2), responseMilliseconds: max(1, timeoutMilliseconds))
    }
}

/// One exchange the engine carries out.
public struct ServiceProbeStep: Sendable, Hashable {
    /// The probe this step belongs to.
    public var probe: ServiceProbeKind
    /// Close the current connection and connect again before sending (the
    /// previous probe left the service in an unknown state, or it closed).
    public var reconnect: Bool
    /// Bytes to send; empty means only wait.
    public var payload: [UInt8]
    /// How long to wait for the answer, from when the payload is sent.
    public var timeoutMilliseconds: Int
    /// Stop reading after this many bytes.
    public var maxBytes: Int
}

/// What the engine should do next.
public enum ServiceProbeAction: Sendable, Hashable {
    /// Start a new exchange.
    case step(ServiceProbeStep)
    /// The current exchange needs more bytes: keep reading until its deadline.
    case read
    /// Finished: what was learnt (nil when the port never said anything useful).
    case done(ScanService?)
}

/// What happened on the connection.
public enum ServiceProbeEvent: Sendable, Hashable {
    /// Bytes arrived (any chunking; the session accumulates them).
    case received([UInt8])
    /// The step's deadline passed.
    case timedOut
    /// End of stream or a reset.
    case closed
    /// A reconnect the step asked for did not succeed.
    case connectFailed
}

/// Which probes a port gets, in order.
public enum ServiceProbePlan {
    /// Ports where TLS comes first (implicit TLS).
    public static let tlsPorts: Set<UInt16> = [
        443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 3269, 4443, 5061,
        5986, 6697, 8443, 9443, 10443,
    ]
    static let tlsNames: Set<String> = [
        "https", "submissions", "smtps", "ssmtp", "nntps", "ldaps", "domain-s", "ftps",
        "ftps-data", "telnets", "imaps", "pop3s", "ircs-u", "sips", "https-alt", "wsmans",
    ]
    /// Ports whose services speak first.
    public static let greetingPorts: Set<UInt16> = [
        21, 22, 23, 24, 25, 106, 110, 119, 143, 587, 2222, 3306, 4190, 5900,
        5901, 5902, 5903,
    ]
    static let greetingNames: Set<String> = [
        "ftp", "ssh", "telnet", "smtp", "submission", "pop3", "imap2", "imap", "nntp",
        "mysql", "sieve", "rfb", "vnc", "lmtp",
    ]
    /// Ports where HTTP comes first: web servers, admin consoles and HTTP APIs (Docker, Elasticsearch, Kibana, WinRM, ...).
    public static let httpPorts: Set<UInt16> = [
        80, 81, 591, 631, 2375, 3000, 5000, 5601, 5985, 8000, 8008, 8080, 8081,
        8088, 8888, 9000, 9090, 9200,
    ]
    static let httpNames: Set<String> = ["http", "www", "http-alt", "webcache", "http-proxy", "ipp", "wsman"]

    /// The probe order for a port. Each list ends in the fallbacks that
    /// find a service on an unexpected port: a greeting, HTTP, then TLS.
    public static func probes(port: UInt16, tableName: String?) -> [ServiceProbeKind] {
        let name = tableName?.lowercased()
        if port == 6379 || name == "redis" { return [.redis, .tls] }
        if port == 5432 || name == "postgresql" || name == "postgres" { return [.postgresStartup, .postgresSSL, .tls] }
        if port == 11211 || name == "memcache" || name == "memcached" { return [.memcached, .http, .tls] }
        if port == 53 || name == "domain" { return [.dnsVersion, .greeting, .http, .tls] }
        if port == 2379 || name == "etcd-client" { return [.httpVersion, .http, .tls] }
        if tlsPorts.contains(port) || name.map(tlsNames.contains) == true { return [.tls, .http] }
        if greetingPorts.contains(port) || name.map(greetingNames.contains) == true { return [.greeting, .http, .tls] }
        if httpPorts.contains(port) || name.map(httpNames.contains) == true { return [.http, .tls] }
        // Unknown: what speaks first, HTTP, TLS, then two binary protocols
        // that answer only a request of their own (PostgreSQL, DNS over TCP).
        return [.greeting, .http, .tls, .lines, .postgresStartup, .dnsVersion]
    }

    /// Whether the HTTP request carries a Host header: on web and TLS ports.
    /// Elsewhere it is nmap's bare `GET / HTTP/1.0`, since Redis drops a
    /// connection that sends a `Host:` line without answering the request.
    static func sendsHostHeader(port: UInt16, tableName: String?) -> Bool {
        let name = tableName?.lowercased()
        return httpPorts.contains(port) || tlsPorts.contains(port) || port == 2375 || port == 2379
            || name.map { httpNames.contains($0) || tlsNames.contains($0) || $0 == "etcd-client" } == true
    }

    /// Whether the port is expected to greet (longer wait) rather than
    /// merely given a chance to.
    static func expectsGreeting(port: UInt16, tableName: String?) -> Bool {
        greetingPorts.contains(port) || tableName.map { greetingNames.contains($0.lowercased()) } == true
    }

    /// What to call a TLS service on this port: the table's name when it
    /// is a TLS service, `ssl/NAME` for another table name, else `ssl`.
    public static func tlsServiceName(port: UInt16, tableName: String?) -> String {
        if let tableName {
            return tlsNames.contains(tableName.lowercased()) ? tableName : "ssl/" + tableName
        }
        let known: [UInt16: String] = [
            443: "https", 465: "submissions", 563: "nntps", 636: "ldaps", 853: "domain-s",
            990: "ftps", 992: "telnets", 993: "imaps", 995: "pop3s", 5986: "wsmans",
            6697: "ircs-u", 8443: "https-alt",
        ]
        return known[port] ?? "ssl"
    }
}

/// Drives the probes of one port. Deterministic: the same events give the same actions.
public struct ServiceProbeSession: Sendable {
    /// The TCP port being probed.
    public let port: UInt16
    /// The port's name in the services table, which picks the probe order; nil when the table has none.
    public let tableName: String?
    /// The name the user gave for the host, sent as SNI and in the Host header; nil for a target given as an address.
    public let hostname: String?
    /// The time and size limits of every step.
    public let limits: ServiceProbeLimits
    /// Seconds since the epoch, for the certificate's `expired`.
    public let now: Int64
    let hostHeader: String
    let tlsRandom: [UInt8]

    /// Probes still to run.
    public private(set) var remaining: [ServiceProbeKind]
    /// The probe running now.
    public private(set) var current: ServiceProbeKind?
    /// Bytes received in the current step.
    public private(set) var received: [UInt8] = []
    private var maxBytes = 0
    private var connectionOpen = true
    /// Something was sent or received on the current connection.
    private var connectionUsed = false
    /// The next probe continues on this connection (TLS after PostgreSQL's 'S').
    private var keepConnection = false
    private var postgresOffersTLS = false
    /// Probes started so far.
    private var tried: Set<ServiceProbeKind> = []
    /// The first reply no matcher knew, kept for the banner.
    private var unrecognized: [UInt8]?
    /// The alert that refused the TLS 1.2 hello.
    private var tls12Alert: TLSAlert?
    /// What an earlier probe established while a follow-up asks for more
    /// (Redis found by its answer to HTTP, then asked PING).
    private var pending: ScanService?
    private var result: ScanService??

    /// - Parameters:
    ///   - hostname: the name the user gave (SNI, Host header); nil for an address.
    ///   - address: used for the Host header when there is no hostname.
    ///   - tlsRandom: 32 bytes for the ClientHello's random.
    public init(
        port: UInt16, tableName: String? = nil, hostname: String? = nil, address: IPAddress? = nil, now: Int64,
        limits: ServiceProbeLimits = ServiceProbeLimits(), tlsRandom: [UInt8] = TLSClientHello.defaultRandom
    ) {
        self.port = port
        self.tableName = tableName
        self.hostname = hostname
        self.limits = limits
        self.now = now
        self.tlsRandom = tlsRandom
        var host = hostname ?? address.map { $0.kind == .v6 ? "[\($0)]" : "\($0)" } ?? "localhost"
        if port != 80 { host += ":\(port)" }
        // The Host header is ours, but the hostname came from the user: keep it to one line.
        hostHeader = String(host.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7f }.map(Character.init))
        remaining = ServiceProbePlan.probes(port: port, tableName: tableName)
    }

    /// The first step, on the connection the engine has just made.
    public mutating func start() -> ServiceProbeAction {
        connectionOpen = true
        connectionUsed = false
        return advance()
    }

    /// The next action after `event`.
    public mutating func next(_ event: ServiceProbeEvent) -> ServiceProbeAction {
        if let result { return .done(result) }
        guard let probe = current else { return advance() }
        switch event {
        case .received(let bytes):
            guard !bytes.isEmpty else { return .read }
            connectionUsed = true
            received += bytes.prefix(max(0, maxBytes - received.count))
            if received.count >= maxBytes || isComplete(probe, received) { return conclude(probe) }
            return .read
        case .timedOut:
            return conclude(probe)
        case .closed:
            connectionOpen = false
            return conclude(probe)
        case .connectFailed:
            connectionOpen = false
            return finish(fallback())
        }
    }

    // MARK: Steps

    private mutating func advance() -> ServiceProbeAction {
        guard !remaining.isEmpty else { return finish(fallback()) }
        let probe = remaining.removeFirst()
        let reconnect = !connectionOpen || (connectionUsed && !keepConnection)
        if probe == .greeting && reconnect {
            // A greeting is only sent at the start of a connection; a fresh one adds nothing here.
            return advance()
        }
        keepConnection = false
        if reconnect {
            connectionOpen = true
            connectionUsed = false
        }
        current = probe
        tried.insert(probe)
        received = []
        let payload = self.payload(probe)
        if !payload.isEmpty { connectionUsed = true }
        maxBytes = (probe == .tls || probe == .tls13) ? limits.maxTLSBytes : limits.maxResponseBytes
        let expected = ServiceProbePlan.expectsGreeting(port: port, tableName: tableName)
        // The last-resort probes of an unknown port are answered at once by
        // the services they are for; a silent port should not cost their full wait.
        let lastResort = [.lines, .postgresStartup, .dnsVersion].contains(probe) && pending == nil && !planStartsWith(probe)
        let timeout =
            (probe == .greeting && !expected) || lastResort ? limits.greetingMilliseconds : limits.responseMilliseconds
        return .step(
            ServiceProbeStep(
                probe: probe, reconnect: reconnect, payload: payload, timeoutMilliseconds: timeout,
                maxBytes: maxBytes))
    }

    /// Whether `probe` is the port's own first probe (PostgreSQL's startup on 5432).
    private func planStartsWith(_ probe: ServiceProbeKind) -> Bool {
        ServiceProbePlan.probes(port: port, tableName: tableName).first == probe
    }

    /// The bytes a probe sends.
    public func payload(_ probe: ServiceProbeKind) -> [UInt8] {
        switch probe {
        case .greeting: return []
        case .http, .httpVersion:
            let path = probe == .http ? "/" : "/version"
            guard ServiceProbePlan.sendsHostHeader(port: port, tableName: tableName) || probe == .httpVersion else {
                return Array("GET \(path) HTTP/1.0\r\n\r\n".utf8)
            }
            return Array("GET \(path) HTTP/1.0\r\nHost: \(hostHeader)\r\nUser-Agent: portcullis\r\nAccept: */*\r\n\r\n".utf8)
        case .memcached: return Array("stats\r\n".utf8)
        case .lines: return Array("\r\n\r\n".utf8)
        case .postgresStartup: return [0, 0, 0, 8, 0, 0, 0, 0]  // length 8, protocol 0.0
        case .dnsVersion:
            let query = UDPPayloads.dnsVersionBindQuery
            return UDPPayloads.be16(UInt16(query.count)) + query
        case .redis: return Array("PING\r\nINFO server\r\n".utf8)
        case .postgresSSL: return [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]  // length 8, code 80877103
        case .tls: return TLSClientHello.build(serverName: hostname, random: tlsRandom)
        case .tls13: return TLSClientHello.build(serverName: hostname, tls13Only: true, random: tlsRandom)
        }
    }

    /// Enough has arrived to decide; waiting longer would only cost time.
    func isComplete(_ probe: ServiceProbeKind, _ bytes: [UInt8]) -> Bool {
        if looksLikeTLSRecord(bytes) { return TLSServerFlight.parse(bytes) != .incomplete }
        switch probe {
        case .tls, .tls13:
            return TLSServerFlight.parse(bytes) != .incomplete
        case .postgresSSL, .postgresStartup:
            if probe == .postgresSSL && bytes.count == 1 && (bytes[0] == UInt8(ascii: "S") || bytes[0] == UInt8(ascii: "N")) {
                return true
            }
            if bytes[0] == UInt8(ascii: "E") && bytes.count >= 5 {
                let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
                return bytes.count >= 1 + length
            }
            return isTextReplyComplete(bytes)
        case .redis:
            return redisRepliesComplete(bytes) >= 2
                || !"+-$:*".utf8.contains(bytes[0])
                    && isTextReplyComplete(bytes)
        case .http, .httpVersion:
            if bytes.starts(with: Array("HTTP/".utf8)) || bytes.starts(with: Array("RTSP/".utf8)) {
                // The headers, and the body when its length is declared (an
                // admin API is named by its JSON); without a length, the headers.
                guard let body = ServiceMatch.httpBody(bytes) else { return false }
                guard let length = ServiceMatch.httpHeader(bytes, "content-length").flatMap({ Int($0) }) else { return true }
                return body.count >= min(length, limits.maxResponseBytes)
            }
            // memcached answers each request line with ERROR: wait for the second.
            if bytes.starts(with: Array("ERROR\r\n".utf8)) { return bytes.count > 7 && bytes.last == 0x0a }
            return isTextReplyComplete(bytes)
        case .memcached:
            let text = ServiceMatch.lines(bytes, limit: 256)
            if text.first?.hasPrefix("STAT ") == true { return text.contains("END") }
            return isTextReplyComplete(bytes)
        case .dnsVersion:
            return bytes.count >= 2 && bytes.count >= 2 + (Int(bytes[0]) << 8 | Int(bytes[1]))
        case .greeting:
            return isTextReplyComplete(bytes)
        case .lines:
            // An answer per line: wait for the second.
            return bytes.lazy.filter { $0 == 0x0a }.count >= 2
        }
    }

    /// A line-oriented reply is complete at its first full line, except an
    /// FTP/SMTP multi-line reply ("220-…"), which ends at "220 …". Binary
    /// replies (MySQL, telnet negotiation) are complete once their first
    /// packet is.
    func isTextReplyComplete(_ bytes: [UInt8]) -> Bool {
        if bytes.count >= 4, bytes[3] == 0, bytes[0] != 0 || bytes[1] != 0 {
            // MySQL: 3-byte little-endian length, sequence 0.
            let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
            if length < 4096 { return bytes.count >= 4 + length }
        }
        if bytes[0] == 0xff { return bytes.count >= 3 }  // telnet IAC
        guard bytes.contains(0x0a) else { return false }
        let lines = ServiceMatch.lines(bytes, limit: 64)
        guard let first = lines.first, first.count >= 4 else { return true }
        let code = first.prefix(3)
        guard code.allSatisfy(\.isNumber), first.dropFirst(3).first == "-" else { return true }
        // Complete when a later, terminated line is "CODE " (the last line of the reply).
        return lines.dropFirst().dropLast().contains { $0.hasPrefix(code + " ") }
    }

    /// How many complete RESP replies `bytes` holds.
    func redisRepliesComplete(_ bytes: [UInt8]) -> Int {
        var count = 0
        var i = 0
        while i < bytes.count {
            guard let lineEnd = bytes[i...].firstIndex(of: 0x0a) else { break }
            let type = bytes[i]
            if type == UInt8(ascii: "$") {
                let digits = String(decoding: bytes[(i + 1)..<lineEnd].filter { $0 != 0x0d }, as: UTF8.self)
                guard let length = Int(digits) else { return count }
                if length < 0 {
                    i = lineEnd + 1
                } else {
                    guard bytes.count >= lineEnd + 1 + length + 2 else { break }
                    i = lineEnd + 1 + length + 2
                }
            } else {
                i = lineEnd + 1
            }
            count += 1
        }
        return count
    }

    func looksLikeTLSRecord(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && (bytes[0] == 0x15 || bytes[0] == 0x16) && bytes[1] == 0x03
    }

    func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if Array(bytes[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    // MARK: Deciding

    private mutating func conclude(_ probe: ServiceProbeKind) -> ServiceProbeAction {
        let bytes = received
        current = nil
        let hint = tableName?.lowercased()

        // Plain probes that drew a TLS record (an alert, or a ServerHello to
        // garbage) mean the port speaks TLS: go straight to the ClientHello,
        // once. (A peer that sends a TLS record that never completes to
        // every probe would otherwise be sent the ClientHello after each.)
        if probe != .tls && probe != .tls13 && !tried.contains(.tls)
            && (looksLikeTLSRecord(bytes) || ServiceMatch.isPlainHTTPToTLSPort(bytes))
        {
            remaining.removeAll { $0 == .tls }
            remaining.insert(.tls, at: 0)
            return advance()
        }

        switch probe {
        case .greeting, .http, .redis, .memcached, .httpVersion, .lines:
            if let service = ServiceMatch.identify(bytes, hint: hint) { return found(service, by: probe, bytes) }
        case .postgresStartup:
            if let service = ServiceMatch.postgresError(bytes) {
                // Then the SSLRequest, on a new connection, for the TLS details.
                pending = service
                remaining = [.postgresSSL]
                return advance()
            }
            if let service = ServiceMatch.identify(bytes, hint: hint) { return found(service, by: probe, bytes) }
        case .dnsVersion:
            if bytes.count > 2, let service = UDPPayloads.dns(Array(bytes.dropFirst(2)), name: "domain", id: UDPPayloads.dnsID) {
                return finish(service)
            }
        case .postgresSSL:
            if bytes == [UInt8(ascii: "S")] {
                // The server will now read a ClientHello on this connection.
                postgresOffersTLS = true
                keepConnection = true
                remaining.removeAll { $0 == .tls }
                remaining.insert(.tls, at: 0)
                return advance()
            }
            if let service = ServiceMatch.postgresSSLResponse(bytes) ?? ServiceMatch.identify(bytes, hint: hint) {
                return finish(service)
            }
        case .tls, .tls13:
            switch TLSServerFlight.parse(bytes) {
            case .hello(let hello, let certificates, _):
                // 1.3 answered after 1.2 was refused: "1.3 only" when the refusal was
                // about the version; after handshake_failure, 1.2 exists but shares no cipher with us.
                let versionRefused = tls12Alert?.code == TLSAlert.protocolVersion
                var service = ServiceMatch.tls(
                    hello: hello, certificates: certificates, name: tlsName,
                    now: now, tls13Only: probe == .tls13 && versionRefused)
                if probe == .tls13 && !versionRefused {
                    service.banner = "TLS 1.0-1.2 refused (\(tls12Alert?.name ?? "no answer")); TLS 1.3 accepted"
                }
                if postgresOffersTLS { service.product = ServiceMatch.postgresProduct }
                return finish(service)
            case .alert(let alert):
                if probe == .tls
                    && (alert.code == TLSAlert.protocolVersion || alert.code == TLSAlert.handshakeFailure)
                {
                    // Refused 1.0–1.2: a TLS 1.3-only server, or no cipher in common.
                    tls12Alert = alert
                    remaining.removeAll { $0 == .tls13 }
                    remaining.insert(.tls13, at: 0)
                    return advance()
                }
                return finish(ServiceMatch.tls(alert: tls12Alert ?? alert, name: tlsName))
            case .notTLS:
                if let service = ServiceMatch.identify(bytes, hint: hint) { return found(service, by: probe, bytes) }
            case .incomplete:
                break
            }
        }
        if !bytes.isEmpty, unrecognized == nil { unrecognized = bytes }
        return advance()
    }

    /// A service was named. Some answers call for one more read-only
    /// request before finishing: Redis and memcached found by their reply to
    /// HTTP are asked PING/stats; an HTTP API that may answer `/version`
    /// (Docker, etcd) is asked it.
    private mutating func found(_ service: ScanService, by probe: ServiceProbeKind, _ bytes: [UInt8]) -> ServiceProbeAction {
        if service.name == "redis" && probe != .redis {
            pending = service
            remaining = [.redis]
            return advance()
        }
        if service.name == "memcached" && probe != .memcached && service.unauthenticated == nil && service.version == nil {
            pending = service
            remaining = [.memcached]
            return advance()
        }
        if service.name == "http" {
            let refined = ServiceMatch.httpAPI(service, response: bytes, request: probe == .httpVersion ? "GET /version" : "GET /")
            if probe == .http && refined.unauthenticated == nil && ServiceMatch.httpWantsVersion(bytes) {
                pending = refined
                remaining = [.httpVersion]
                return advance()
            }
            return finish(refined)
        }
        return finish(service)
    }

    private var tlsName: String {
        postgresOffersTLS ? "postgresql" : ServiceProbePlan.tlsServiceName(port: port, tableName: tableName)
    }

    /// What to report when no probe was conclusive.
    private func fallback() -> ScanService? {
        if let tls12Alert { return ServiceMatch.tls(alert: tls12Alert, name: tlsName) }
        if postgresOffersTLS { return ServiceMatch.postgresSSLResponse([UInt8(ascii: "S")]) }
        if let pending { return pending }
        if let unrecognized {
            return ScanService(
                name: tableName ?? "unknown", banner: ServiceMatch.banner(unrecognized),
                method: tableName == nil ? .probed : .table)
        }
        return nil
    }

    private mutating func finish(_ service: ScanService?) -> ServiceProbeAction {
        var service = service
        if let pending, var merged = service {
            // What the follow-up said wins; what only the first answer said stays.
            merged.product = merged.product ?? pending.product
            merged.version = merged.version ?? pending.version
            merged.extraInfo = merged.extraInfo ?? pending.extraInfo
            merged.unauthenticated = merged.unauthenticated ?? pending.unauthenticated
            service = merged
        }
        result = .some(service)
        current = nil
        remaining = []
        return .done(service)
    }
}
