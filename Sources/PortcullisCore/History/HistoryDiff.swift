/// What a snapshot holds, or what the live host shows now: the listeners
/// (with owners and exposure) and the audit's findings.
public struct SnapshotContent: Sendable {
    /// Every socket of the state (the snapshot's rows, or the live inventory); `HistoryDiff` groups the listening ones by key.
    public var entries: [InventoryEntry]
    /// The audit's findings at that time, as reported (after the policy).
    public var findings: [Finding]

    /// Builds a state from its sockets and findings.
    public init(entries: [InventoryEntry], findings: [Finding]) {
        self.entries = entries
        self.findings = findings
    }
}

/// A finding's identity across snapshots: its rule and its id (the
/// program and the first socket it covers, see `Finding.id`), not the
/// sockets' inodes or the holders' pids, which change on every restart,
/// nor the list of sockets, which grows and shrinks as the program binds.
public struct FindingIdentity: Hashable, Sendable {
    /// The rule that found it.
    public var rule: RuleID
    /// The finding's stable id.
    public var id: String

    /// The identity of `finding`.
    public init(_ finding: Finding) {
        rule = finding.rule
        id = finding.id
    }
}

/// The difference between two states of the host (two snapshots, or a
/// snapshot and the live host).
public struct HistoryDiff: Sendable {
    /// One listener as it was and as it is (its owner or its exposure changed).
    public struct Change: Sendable {
        /// The listener in the earlier state (`from`).
        public var before: ListenerView
        /// The listener in the later state (`to`).
        public var after: ListenerView
        /// The listener's key, the same on both sides.
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
    /// Findings in `to` whose identity is not in `from`, worst first.
    public var newFindings: [Finding] = []
    /// Findings in `from` whose identity is not in `to` (no longer found), worst first.
    public var resolvedFindings: [Finding] = []

    /// An empty diff, for `compute(from:to:)` to fill in.
    public init() {}

    /// True when the two states agree: no listener added, removed or changed, no finding new or resolved.
    public var isEmpty: Bool {
        added.isEmpty && removed.isEmpty && ownerChanged.isEmpty && exposureChanged.isEmpty
            && newFindings.isEmpty && resolvedFindings.isEmpty
    }

    /// Compares two states: listeners are matched by `ListenerKey` (listening sockets only),
    /// findings by `FindingIdentity`. Each list comes out in key order, or worst first for
    /// findings.
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
