/// The overview's one-word verdict on a listener: the worst finding's
/// severity, else `filtered`, `open` (reachable) or `ok` (loopback only).
public enum ListenerVerdict: Sendable, Hashable, CustomStringConvertible {
    /// At least one finding; the worst one's severity.
    case finding(Severity)
    /// The firewall provably stops new connections from other hosts.
    case filtered
    /// Reachable from other hosts (or possibly so, when the firewall is unknown).
    case open
    /// Loopback only.
    case ok

    /// Every verdict, mildest first within each group, for tests and docs.
    public static var allCases: [ListenerVerdict] { Severity.allCases.map(ListenerVerdict.finding) + [.filtered, .open, .ok] }

    /// The spelling in JSON, NDJSON, CSV and the table (`"high"`, `"filtered"`,
    /// `"open"`, `"ok"`). A finding's verdict is its severity's own spelling,
    /// so the two can never drift apart.
    public var jsonName: String {
        switch self {
        case .finding(let severity): return severity.rawValue
        case .filtered: return "filtered"
        case .open: return "open"
        case .ok: return "ok"
        }
    }

    /// The JSON spelling, so interpolating a verdict into text writes it the same way.
    public var description: String { jsonName }

    /// The ANSI SGR colour the overview table paints the verdict in, nil for
    /// none: green when nothing is reachable, no colour for merely open or
    /// informational, then cyan, yellow and red as findings get worse.
    public var colorCode: String? {
        switch self {
        case .ok, .filtered: return "32"
        case .open, .finding(.info): return nil
        case .finding(.low): return "36"
        case .finding(.medium): return "33"
        case .finding(.high), .finding(.critical): return "31"
        }
    }
}
