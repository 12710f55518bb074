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

    public init(_ hint: SeverityHint) {
        switch hint {
        case .info: self = .info
        case .low: self = .low
        case .medium: self = .medium
        case .high: self = .high
        case .critical: self = .critical
        }
    }
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
