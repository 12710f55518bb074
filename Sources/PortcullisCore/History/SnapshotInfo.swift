/// A stored snapshot's header: when, what, and how much.
public struct SnapshotInfo: Sendable, Hashable {
    public var id: Int64
    /// Seconds since the Unix epoch.
    public var time: Int64
    public var label: String?
    public var hostname: String?
    /// Where the socket table came from ("netlink", "procfs", ...).
    public var source: String
    public var listenerCount: Int
    public var findingCount: Int
    /// Findings per severity.
    public var severities: [Severity: Int]

    public init(
        id: Int64, time: Int64, label: String?, hostname: String?, source: String,
        listenerCount: Int, findingCount: Int, severities: [Severity: Int] = [:]
    ) {
        self.id = id
        self.time = time
        self.label = label
        self.hostname = hostname
        self.source = source
        self.listenerCount = listenerCount
        self.findingCount = findingCount
        self.severities = severities
    }
}

/// The baseline: the snapshot later states are compared with.
public struct BaselineInfo: Sendable, Hashable {
    public var snapshot: SnapshotInfo
    /// When it was made the baseline (seconds since the epoch).
    public var setAt: Int64

    public init(snapshot: SnapshotInfo, setAt: Int64) {
        self.snapshot = snapshot
        self.setAt = setAt
    }
}

/// A watch event as stored by `watch --record`.
public struct StoredEvent: Sendable, Hashable {
    public var id: Int64
    public var timeMilliseconds: Int64
    public var kind: String
    public var key: String
    /// The event's JSON object, as `watch --format ndjson` printed it.
    public var json: String

    public init(id: Int64, timeMilliseconds: Int64, kind: String, key: String, json: String) {
        self.id = id
        self.timeMilliseconds = timeMilliseconds
        self.kind = kind
        self.key = key
        self.json = json
    }
}

/// One side of a diff, for the report's header.
public struct DiffSide: Sendable {
    /// nil for the live host.
    public var snapshot: SnapshotInfo?
    public var time: Int64
    public var isBaseline: Bool

    public init(snapshot: SnapshotInfo?, time: Int64, isBaseline: Bool = false) {
        self.snapshot = snapshot
        self.time = time
        self.isBaseline = isBaseline
    }

    public var name: String {
        guard let snapshot else { return "live host" }
        var text = "snapshot \(snapshot.id)"
        if isBaseline { text += " (baseline)" }
        if let label = snapshot.label, !label.isEmpty { text += " \"\(label)\"" }
        return text
    }
}
