/// How serious a finding is. Ordered: `info` < `low` < ... < `critical`.
public enum Severity: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Lowest to highest; the raw values are the spellings in JSON and in a policy's `severity:`.
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

    /// Ordered by seriousness, so `max()` is the worst.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

}

/// Whether inbound traffic to a listener's port gets through the host
/// firewall. `filtered` is only claimed when the ruleset proves it.
public enum FirewallVerdict: Sendable, Hashable {
    /// Inbound packets get through; the reason names the rule or policy that accepts them, or why the firewall was not consulted.
    case reachable(String)
    /// The ruleset provably drops or rejects new inbound packets; the reason names the rule that does.
    case filtered(String)
    /// Could not be judged (no ruleset to read, a RAW socket, a rule beyond the model); the reason says why.
    case unknown(String)

    /// The case's name as reports print it: "reachable", "filtered" or "unknown".
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

    /// True only for `.filtered`: `.unknown` never counts as filtered.
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
    /// TCP, UDP or RAW socket, or a packet socket.
    public var proto: SubjectProtocol
    /// Address family of the socket; nil for a packet socket (and for a stored subject that lacked one).
    public var family: AddressFamily?
    /// Local address as text ("0.0.0.0", "::1"); for a packet socket, "every interface" or "interface index N".
    public var localAddress: String
    /// Local port; nil for a RAW socket (whose "port" is an IP protocol number) and for a packet socket.
    public var port: UInt16?
    /// The socket's inode number, which links the finding to its listener; 0 when a stored snapshot lacked it.
    public var inode: UInt64
    /// nil for a packet socket, which has no address to be exposed on.
    public var exposure: Exposure?

    /// Builds a subject from its parts (the audit rules, and the snapshot reader restoring a stored finding).
    public init(proto: SubjectProtocol, family: AddressFamily?, localAddress: String, port: UInt16?, inode: UInt64, exposure: Exposure?) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.port = port
        self.inode = inode
        self.exposure = exposure
    }
}

/// One thing the audit found: what, how bad, about which sockets and
/// process, what was seen, and what to do. The audit reports one finding
/// per problem: a rule and a program instance (the processes that share the
/// sockets), listing every socket it covers.
public struct Finding: Hashable, Sendable {
    /// Stable across runs, for baselines, diffs and policies:
    /// `RULE@PROGRAM:ENDPOINT`, the program being the holders' service unit,
    /// else their container, else their process name (`kernel` when no
    /// process holds it, `host` for a host-wide finding), and the endpoint
    /// the first of its sockets (by port, protocol, family and address):
    /// `udp-amplification@nmbd.service:0.0.0.0:137/udp`.
    public var id: String
    /// The rule that found it; its id is stable for policies and CI.
    public var rule: RuleID
    /// How serious, after the policy's `rules:` override; reports sort on it, worst first.
    public var severity: Severity
    /// One line: "Redis reachable beyond loopback on 0.0.0.0:6379/tcp and [::]:6379/tcp".
    public var title: String
    /// The first of `sockets`; nil for a host-wide finding (ld-preload).
    public var subject: FindingSubject?
    /// Every socket the finding covers, in order (port, protocol, family,
    /// address); empty for a host-wide finding.
    public var sockets: [FindingSubject]
    /// Processes holding the sockets when the audit ran; empty when none was found, or for a host-wide finding.
    public var owners: [SocketOwner]
    /// What was seen, each a short sentence. For a finding about sockets,
    /// the first lines say where each socket listens.
    public var evidence: [String]
    /// A concrete action.
    public var remediation: String
    /// How the title names the socket (`0.0.0.0:137/udp`), so that merging
    /// findings about several sockets can name them all; nil when the
    /// finding is not about a socket, or came from a stored snapshot.
    var location: String?
    /// What makes findings of one rule one problem when it is not the
    /// holders' pids: a program made of several daemons (Samba's smbd and
    /// nmbd). nil: the holders.
    var instance: String?

    /// Builds a finding from its parts, as a rule (or the snapshot reader)
    /// does. `sockets` defaults to the subject alone and `id` to the one
    /// `FindingID.make` derives from the rule, the owners and the subject.
    public init(
        rule: RuleID, severity: Severity, title: String, subject: FindingSubject?, owners: [SocketOwner], evidence: [String],
        remediation: String, sockets: [FindingSubject]? = nil, id: String? = nil
    ) {
        self.rule = rule
        self.severity = severity
        self.title = title
        self.subject = subject
        self.sockets = sockets ?? subject.map { [$0] } ?? []
        self.owners = owners
        self.evidence = evidence
        self.remediation = remediation
        self.id = id ?? FindingID.make(rule: rule, owners: owners, subject: subject)
    }
}
