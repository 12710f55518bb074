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

/// What a finding is about: a socket (with its owners) or the host itself.
public struct FindingSubject: Hashable, Sendable {
    public var proto: String
    public var family: AddressFamily?
    public var localAddress: String
    public var port: UInt16?
    public var inode: UInt64
    public var exposure: String?

    public init(proto: String, family: AddressFamily?, localAddress: String, port: UInt16?, inode: UInt64, exposure: String?) {
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

    public init(rule: RuleID, severity: Severity, title: String, subject: FindingSubject?, owners: [SocketOwner], evidence: [String], remediation: String) {
        self.rule = rule
        self.severity = severity
        self.title = title
        self.subject = subject
        self.owners = owners
        self.evidence = evidence
        self.remediation = remediation
    }
}
