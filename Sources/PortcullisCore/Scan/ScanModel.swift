/// Model of `portcullis scan`: what was asked, and what each port said.
/// Pure values; PortcullisScan produces them, the renderers print them.

/// A port's state, as nmap defines them, plus `unknown` for a probe that
/// local resource errors kept from being made (never guessed).
public enum ScanPortState: String, Sendable, Hashable, CaseIterable, Comparable {
    /// TCP: the connect completed. UDP: a reply came back.
    case open
    /// TCP: refused (RST). UDP: ICMP port unreachable.
    case closed
    /// TCP: no answer after retries, or an ICMP unreachable other than port.
    case filtered
    /// UDP: no answer after retries (an open port may simply not reply).
    case openFiltered = "open|filtered"
    /// The probe could not be made (EMFILE, EADDRNOTAVAIL, ENOBUFS after backing off).
    case unknown

    /// Declaration order: open, closed, filtered, open|filtered, unknown.
    public static func < (a: ScanPortState, b: ScanPortState) -> Bool {
        (allCases.firstIndex(of: a) ?? allCases.count) < (allCases.firstIndex(of: b) ?? allCases.count)
    }
}

/// Why a port got its state, with nmap's reason names where they exist.
public enum ScanReason: String, Sendable, Hashable {
    /// TCP: the connect completed (nmap's `syn-ack`).
    case synAck = "syn-ack"
    /// TCP: the connect was refused with a RST (ECONNREFUSED), or looped back to itself.
    case connRefused = "conn-refused"
    /// No answer to any attempt.
    case noResponse = "no-response"
    /// ICMP host unreachable (EHOSTUNREACH).
    case hostUnreachable = "host-unreach"
    /// ICMP network unreachable (ENETUNREACH).
    case netUnreachable = "net-unreach"
    /// The packet was refused before leaving this host (EPERM/EACCES from a local firewall rule).
    case adminProhibited = "admin-prohibited"
    /// UDP: a reply came back.
    case udpResponse = "udp-response"
    /// UDP: ICMP port unreachable (ECONNREFUSED on the socket).
    case portUnreachable = "port-unreach"
    /// A local resource error that persisted through back-off.
    case localError = "local-error"
}

/// What service detection learned about a TLS endpoint.
public struct TLSDetails: Sendable, Hashable {
    /// "TLSv1.2", ...
    public var version: String
    /// IANA cipher suite name, or its hex code when unnamed.
    public var cipher: String
    /// The leaf certificate's subject as RFC 4514 text, escaped; nil when no certificate was parsed.
    public var subject: String?
    /// The leaf certificate's issuer as RFC 4514 text, escaped; nil when no certificate was parsed.
    public var issuer: String?
    /// Seconds since the epoch (UTC).
    public var notBefore: Int64?
    /// End of the leaf certificate's validity, in seconds since the epoch (UTC); nil when no certificate was parsed.
    public var notAfter: Int64?
    /// The leaf certificate is issued by itself (`X509Certificate.isSelfSigned`).
    public var selfSigned: Bool
    /// The leaf certificate was past its notAfter when the port was probed.
    public var expired: Bool

    /// Builds details; the certificate fields default to nil and false, as when no certificate was parsed.
    public init(
        version: String, cipher: String, subject: String? = nil, issuer: String? = nil, notBefore: Int64? = nil,
        notAfter: Int64? = nil, selfSigned: Bool = false, expired: Bool = false
    ) {
        self.version = version
        self.cipher = cipher
        self.subject = subject
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.selfSigned = selfSigned
        self.expired = expired
    }
}

/// The service on a port: from the services table ("table") or from what
/// the port answered ("probed"). Every string that came off the network is
/// already escaped (UntrustedText).
public struct ScanService: Sendable, Hashable {
    /// The service's name in nmap's spelling ("ssh", "http"; "ssl/NAME" for TLS on a port the table names otherwise).
    public var name: String
    /// The product the answer names ("OpenSSH", "nginx"), escaped; nil when it does not say.
    public var product: String?
    /// The product's version from the answer ("9.6p1"), escaped; nil when it does not say.
    public var version: String?
    /// More that the answer says beside product and version, as nmap's
    /// `extrainfo` has it ("protocol 2.0", "(Debian)", "uptime 42 seconds"),
    /// escaped; nil when it says nothing more.
    public var extraInfo: String?
    /// The first line(s) the service sent, escaped and capped.
    public var banner: String?
    /// Where `name` came from: the services table, or what the port answered.
    public var method: Method
    /// The TLS version, cipher and certificate, for a port that completed a TLS handshake; nil otherwise.
    public var tls: TLSDetails?
    /// What a safe, read-only request obtained without any credentials (Redis
    /// answering PING, memcached answering `stats`); nil when nothing was
    /// asked or the service demanded authentication.
    public var unauthenticated: UnauthenticatedAccess?

    /// How a service was identified; the raw values are the `method` attribute of nmap's XML.
    public enum Method: String, Sendable, Hashable {
        /// `table`: named after the port in the services table, nothing confirmed; `probed`: from what the port answered.
        case table, probed
    }

    /// Builds a service; only `name` and `method` are always known.
    public init(
        name: String, product: String? = nil, version: String? = nil, extraInfo: String? = nil, banner: String? = nil,
        method: Method, tls: TLSDetails? = nil, unauthenticated: UnauthenticatedAccess? = nil
    ) {
        self.unauthenticated = unauthenticated
        self.extraInfo = extraInfo
        self.name = name
        self.product = product
        self.version = version
        self.banner = banner
        self.method = method
        self.tls = tls
    }
}

/// Evidence that a service answers without authentication: the read-only
/// request sent and what came back (escaped, capped).
public struct UnauthenticatedAccess: Sendable, Hashable {
    /// The request as a user would type it: "PING", "stats", "GET /version".
    public var request: String
    /// The start of the answer, escaped (UntrustedText) and capped.
    public var answer: String

    /// Builds the evidence from the request and the (already escaped) answer.
    public init(request: String, answer: String) {
        self.request = request
        self.answer = answer
    }
}

/// One port of one host.
public struct ScanPortResult: Sendable, Hashable {
    /// TCP or UDP; a scan never probes RAW.
    public var proto: TransportProtocol
    /// The port number probed, in host byte order.
    public var port: UInt16
    /// What the probes concluded.
    public var state: ScanPortState
    /// The answer (or silence) that decided `state`.
    public var reason: ScanReason
    /// Extra words for the reason (the errno of a local error, "self-connect retried", ...).
    public var detail: String?
    /// Round-trip time of the answer that decided the state, in microseconds.
    public var rttMicroseconds: Int64?
    /// What runs there: from service detection, else the services table by port number; nil when neither says.
    public var service: ScanService?
    /// The scan rules' one-word verdict on an open port (the worst finding's
    /// severity, else `open`); nil for ports that are not open, or before the rules ran.
    public var verdict: ListenerVerdict?

    /// Builds a result; `detail`, `rttMicroseconds` and `service` are nil unless known.
    public init(
        proto: TransportProtocol, port: UInt16, state: ScanPortState, reason: ScanReason, detail: String? = nil,
        rttMicroseconds: Int64? = nil, service: ScanService? = nil, verdict: ListenerVerdict? = nil
    ) {
        self.verdict = verdict
        self.proto = proto
        self.port = port
        self.state = state
        self.reason = reason
        self.detail = detail
        self.rttMicroseconds = rttMicroseconds
        self.service = service
    }
}

/// Why host discovery calls a host up or down; nmap's reason names.
public enum HostDiscoveryReason: String, Sendable, Hashable, CaseIterable {
    /// An ARP reply on a directly connected IPv4 subnet.
    case arpResponse = "arp-response"
    /// An IPv6 neighbour advertisement on a directly connected link.
    case ndResponse = "nd-response"
    /// An ICMP or ICMPv6 echo reply.
    case echoReply = "echo-reply"
    /// A TCP connect to a discovery port was refused: the host is up, the port closed.
    case connRefused = "conn-refused"
    /// A TCP connect to a discovery port completed.
    case synAck = "syn-ack"
    /// The address is one of this host's own.
    case localhostResponse = "localhost-response"
    /// Discovery was skipped (`--no-ping`/-Pn): every target is taken as up.
    case userSet = "user-set"
    /// Nothing answered any discovery probe.
    case noResponse = "no-response"
}

/// What host discovery learned about one address.
public struct HostStatus: Sendable, Hashable {
    /// Some probe got an answer from the host.
    public var up: Bool
    /// The first answer that proved it up, or `no-response`.
    public var reason: HostDiscoveryReason
    /// The link-layer address, lowercase "52:54:00:12:34:56", for a host on a directly connected link.
    public var macAddress: String?
    /// The organisation the MAC address prefix is registered to, from the OUI list when one is installed.
    public var vendor: String?
    /// Round-trip time of the answer, in microseconds.
    public var rttMicroseconds: Int64?

    /// Builds a status; MAC, vendor and round-trip time are nil unless known.
    public init(
        up: Bool, reason: HostDiscoveryReason, macAddress: String? = nil, vendor: String? = nil, rttMicroseconds: Int64? = nil
    ) {
        self.up = up
        self.reason = reason
        self.macAddress = macAddress
        self.vendor = vendor
        self.rttMicroseconds = rttMicroseconds
    }
}

/// One scanned address.
public struct ScanHostResult: Sendable {
    /// The address probed (`hostname` says which name it came from, if any).
    public var address: IPAddress
    /// The name the user gave, when the address came from resolving it.
    public var hostname: String?
    /// The interface of a link-local target (`fe80::1%eth0`); nil for every other address.
    public var zone: InterfaceZone?
    /// What host discovery found; nil when it did not run.
    public var status: HostStatus?
    /// Every probed port, in (proto, port) order.
    public var ports: [ScanPortResult]

    /// Builds a host result; `ports` stays empty until the scan fills it in.
    public init(
        address: IPAddress, hostname: String? = nil, zone: InterfaceZone? = nil, status: HostStatus? = nil, ports: [ScanPortResult] = []
    ) {
        self.address = address
        self.hostname = hostname
        self.zone = zone
        self.status = status
        self.ports = ports
    }

    /// The address as people write it: `fe80::1%eth0` with a zone, else the plain address.
    public var addressText: String { zone.map { "\(address)%\($0.name)" } ?? address.description }

    /// Up when host discovery found it up, or any port answered (open or
    /// closed, or a UDP reply). Without discovery a connect scan has no other
    /// evidence, and a host that answered nothing is reported down, as nmap -Pn reports it.
    public var isUp: Bool {
        if let status, status.up, status.reason != .userSet { return true }
        return ports.contains { $0.state == .open || $0.state == .closed }
    }

    /// How many of the host's ports are in `state`.
    public func count(_ state: ScanPortState) -> Int { ports.reduce(0) { $0 + ($1.state == state ? 1 : 0) } }
}

/// The whole scan.
public struct ScanReport: Sendable {
    /// Every scanned address, in target order (ascending, IPv4 before IPv6), up or not.
    public var hosts: [ScanHostResult]
    /// Seconds since the epoch when the scan started and ended.
    public var startTime: Int64
    /// When the scan ended, in seconds since the epoch.
    public var endTime: Int64
    /// How long the scan took, in milliseconds of the monotonic clock (not `endTime - startTime`).
    public var durationMilliseconds: Int64
    /// The command line, for the XML `args` attribute.
    public var arguments: [String]
    /// Notices from planning the scan (targets, name resolution, ports), printed beside the results.
    public var diagnostics: [Diagnostic]
    /// What the scan rules found on open ports, worst first (the audit's rule ids where they overlap).
    public var findings: [Finding] = []

    /// Builds a report from a finished scan.
    public init(
        hosts: [ScanHostResult], startTime: Int64, endTime: Int64, durationMilliseconds: Int64, arguments: [String],
        diagnostics: [Diagnostic] = []
    ) {
        self.hosts = hosts
        self.startTime = startTime
        self.endTime = endTime
        self.durationMilliseconds = durationMilliseconds
        self.arguments = arguments
        self.diagnostics = diagnostics
    }

    /// How many hosts are up (`ScanHostResult.isUp`).
    public var hostsUp: Int { hosts.filter(\.isUp).count }
    /// How many ports, over every host, are in `state`.
    public func count(_ state: ScanPortState) -> Int { hosts.reduce(0) { $0 + $1.count(state) } }
}
