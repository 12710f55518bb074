/// How serious a finding is. Ordered: `info` < `low` < ... < `critical`.
public enum Severity: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case info, low, medium, high, critical

    var rank: Int {
        switch self {
        case .info: return 0
        case .low: return 1
        case .medium: return 2
        case .high: return 3
        case .critical: return 4
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

}

/// Whether inbound traffic to a listener's port gets through the host
/// firewall. `filtered` is only claimed when the ruleset proves it.
public enum FirewallVerdict: Sendable, Hashable {
    case reachable(String)
    case filtered(String)
    case unknown(String)

    public var name: String {
        switch self {
        case .reachable: return "reachable"
        case .filtered: return "filtered"
        case .unknown: return "unknown"
        }
    }

    /// Why: which rule or policy decided, or why it could not be judged.
    public var reason: String {
        switch self {
        case .reachable(let r), .filtered(let r), .unknown(let r): return r
        }
    }

    public var isFiltered: Bool { if case .filtered = self { return true } else { return false } }
}

/// The kind of socket a finding is about: a TCP, UDP or RAW socket, or an
/// AF_PACKET socket.
public enum SubjectProtocol: Hashable, Sendable, CustomStringConvertible {
    /// A TCP, UDP or RAW socket.
    case transport(TransportProtocol)
    /// An AF_PACKET socket (no port, no address family).
    case packet
    /// A spelling this version does not know, kept as read from a stored
    /// snapshot so that it is shown again unchanged.
    case other(String)

    /// Reads a stored spelling; unknown ones are kept as `.other`.
    public init(jsonName: String) {
        if let proto = TransportProtocol(rawValue: jsonName) {
            self = .transport(proto)
        } else if jsonName == Self.packet.jsonName {
            self = .packet
        } else {
            self = .other(jsonName)
        }
    }

    /// The JSON spelling: the transport protocol's own (`"tcp"`, `"udp"`,
    /// `"raw"`), or `"packet"`.
    public var jsonName: String {
        switch self {
        case .transport(let proto): return proto.rawValue
        case .packet: return "packet"
        case .other(let name): return name
        }
    }

    /// The JSON spelling, so interpolating it into text writes it the same way.
    public var description: String { jsonName }
}

/// What a finding is about: a socket (with its owners) or the host itself.
public struct FindingSubject: Hashable, Sendable {
    public var proto: SubjectProtocol
    public var family: AddressFamily?
    public var localAddress: String
    public var port: UInt16?
    public var inode: UInt64
    /// nil for a packet socket, which has no address to be exposed on.
    public var exposure: Exposure?

    public init(proto: SubjectProtocol, family: AddressFamily?, localAddress: String, port: UInt16?, inode: UInt64, exposure: Exposure?) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.port = port
        self.inode = inode
        self.exposure = exposure
    }
}

/// One thing the audit found: what, how bad, about which socket and
/// process, what was seen, and what to do.
public struct Finding: Hashable, Sendable {
    public var rule: RuleID
    public var severity: Severity
    /// One line: "Redis reachable beyond loopback on 0.0.0.0:6379/tcp".
    public var title: String
    public var subject: FindingSubject?
    public var owners: [SocketOwner]
    /// What was seen, each a short sentence.
    public var evidence: [String]
    /// A concrete action.
    public var remediation: String

    public init(
        rule: RuleID, severity: Severity, title: String, subject: FindingSubject?, owners: [SocketOwner], evidence: [String],
        remediation: String
    ) {
        self.rule = rule
        self.severity = severity
        self.title = title
        self.subject = subject
        self.owners = owners
        self.evidence = evidence
        self.remediation = remediation
    }
}
