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

    public static func < (a: ScanPortState, b: ScanPortState) -> Bool {
        (allCases.firstIndex(of: a) ?? allCases.count) < (allCases.firstIndex(of: b) ?? allCases.count)
    }
}

/// Why a port got its state, with nmap's reason names where they exist.
public enum ScanReason: String, Sendable, Hashable {
    case synAck = "syn-ack"
    case connRefused = "conn-refused"
    case noResponse = "no-response"
    case hostUnreachable = "host-unreach"
    case netUnreachable = "net-unreach"
    case adminProhibited = "admin-prohibited"
    case udpResponse = "udp-response"
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
    public var subject: String?
    public var issuer: String?
    /// Seconds since the epoch (UTC).
    public var notBefore: Int64?
    public var notAfter: Int64?
    public var selfSigned: Bool
    public var expired: Bool

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
    public var name: String
    public var product: String?
    public var version: String?
    /// The first line(s) the service sent, escaped and capped.
    public var banner: String?
    public var method: Method
    public var tls: TLSDetails?

    public enum Method: String, Sendable, Hashable {
        case table, probed
    }

    public init(
        name: String, product: String? = nil, version: String? = nil, banner: String? = nil, method: Method,
        tls: TLSDetails? = nil
    ) {
        self.name = name
        self.product = product
        self.version = version
        self.banner = banner
        self.method = method
        self.tls = tls
    }
}

/// One port of one host.
public struct ScanPortResult: Sendable, Hashable {
    public var proto: TransportProtocol
    public var port: UInt16
    public var state: ScanPortState
    public var reason: ScanReason
    /// Extra words for the reason (the errno of a local error, "self-connect retried", ...).
    public var detail: String?
    /// Round-trip time of the answer that decided the state, in microseconds.
    public var rttMicroseconds: Int64?
    public var service: ScanService?

    public init(
        proto: TransportProtocol, port: UInt16, state: ScanPortState, reason: ScanReason, detail: String? = nil,
        rttMicroseconds: Int64? = nil, service: ScanService? = nil
    ) {
        self.proto = proto
        self.port = port
        self.state = state
        self.reason = reason
        self.detail = detail
        self.rttMicroseconds = rttMicroseconds
        self.service = service
    }
}

/// One scanned address.
public struct ScanHostResult: Sendable {
    public var address: IPAddress
    /// The name the user gave, when the address came from resolving it.
    public var hostname: String?
    /// Every probed port, in (proto, port) order.
    public var ports: [ScanPortResult]

    public init(address: IPAddress, hostname: String? = nil, ports: [ScanPortResult] = []) {
        self.address = address
        self.hostname = hostname
        self.ports = ports
    }

    /// Up when any port answered (open or closed, or a UDP reply): a connect
    /// scan has no other evidence, and a host that answered nothing is
    /// reported down, as nmap -Pn reports it.
    public var isUp: Bool { ports.contains { $0.state == .open || $0.state == .closed } }

    public func count(_ state: ScanPortState) -> Int { ports.reduce(0) { $0 + ($1.state == state ? 1 : 0) } }
}

/// The whole scan.
public struct ScanReport: Sendable {
    public var hosts: [ScanHostResult]
    /// Seconds since the epoch when the scan started and ended.
    public var startTime: Int64
    public var endTime: Int64
    public var durationMilliseconds: Int64
    /// The command line, for the XML `args` attribute.
    public var arguments: [String]
    public var diagnostics: [Diagnostic]

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

    public var hostsUp: Int { hosts.filter(\.isUp).count }
    public func count(_ state: ScanPortState) -> Int { hosts.reduce(0) { $0 + $1.count(state) } }
}
