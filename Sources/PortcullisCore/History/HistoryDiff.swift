/// What a snapshot holds, or what the live host shows now: the listeners
/// (with owners and exposure) and the audit's findings.
public struct SnapshotContent: Sendable {
    public var entries: [InventoryEntry]
    public var findings: [Finding]

    public init(entries: [InventoryEntry], findings: [Finding]) {
        self.entries = entries
        self.findings = findings
    }
}

/// A finding's identity across snapshots: its rule and what it is about
/// (protocol, family, address, port), not the socket's inode or the
/// holder's pid, which change on every restart.
public struct FindingIdentity: Hashable, Sendable {
    public var rule: RuleID
    public var proto: SubjectProtocol?
    public var family: AddressFamily?
    public var address: String?
    public var port: UInt16?
    /// The title without bracketed pid lists ("held by dhclient[812]").
    public var title: String

    public init(_ finding: Finding) {
        rule = finding.rule
        proto = finding.subject?.proto
        family = finding.subject?.family
        address = finding.subject?.localAddress
        port = finding.subject?.port
        title = Self.withoutPIDs(finding.title)
    }

    static func withoutPIDs(_ text: String) -> String {
        var out = ""
        var pending = ""
        var inBrackets = false
        for c in text {
            if inBrackets {
                pending.append(c)
                if c == "]" {
                    inBrackets = false
                    pending = ""
                } else if !(c.isASCII && (c.isNumber || c == ",")) {
                    inBrackets = false
                    out += pending
                    pending = ""
                }
            } else if c == "[" {
                inBrackets = true
                pending = "["
            } else {
                out.append(c)
            }
        }
        return out + pending
    }
}

/// The difference between two states of the host (two snapshots, or a
/// snapshot and the live host).
public struct HistoryDiff: Sendable {
    /// One listener as it was and as it is (its owner or its exposure changed).
    public struct Change: Sendable {
        public var before: ListenerView
        public var after: ListenerView
        public var key: ListenerKey { after.key }
    }

    /// Listening in `to`, not in `from`.
    public var added: [ListenerView] = []
    /// Listening in `from`, not in `to`.
    public var removed: [ListenerView] = []
    /// Same key, a different executable or user.
    public var ownerChanged: [Change] = []
    /// Same key, a different exposure (IPV6_V6ONLY or the bound device changed).
    public var exposureChanged: [Change] = []
    public var newFindings: [Finding] = []
    public var resolvedFindings: [Finding] = []

    public init() {}

    public var isEmpty: Bool {
        added.isEmpty && removed.isEmpty && ownerChanged.isEmpty && exposureChanged.isEmpty
            && newFindings.isEmpty && resolvedFindings.isEmpty
    }

    public static func compute(from: SnapshotContent, to: SnapshotContent) -> HistoryDiff {
        var diff = HistoryDiff()
        let before = ListenerView.group(from.entries)
        let after = ListenerView.group(to.entries)
        for key in after.keys.sorted() {
            guard let now = after[key] else { continue }
            guard let then = before[key] else {
                diff.added.append(now)
                continue
            }
            if now.ownerDiffers(from: then) {
                diff.ownerChanged.append(Change(before: then, after: now))
            }
            if then.exposure != now.exposure {
                diff.exposureChanged.append(Change(before: then, after: now))
            }
        }
        for key in before.keys.sorted() where after[key] == nil {
            if let then = before[key] { diff.removed.append(then) }
        }
        let beforeFindings = Set(from.findings.map(FindingIdentity.init))
        let afterFindings = Set(to.findings.map(FindingIdentity.init))
        diff.newFindings = Auditor.sortWorstFirst(to.findings.filter { !beforeFindings.contains(FindingIdentity($0)) })
        diff.resolvedFindings = Auditor.sortWorstFirst(from.findings.filter { !afterFindings.contains(FindingIdentity($0)) })
        return diff
    }
}
