/// A stored snapshot's header: when, what, and how much.
public struct SnapshotInfo: Sendable, Hashable {
    /// The snapshot's row id in the history database: ascending in the order snapshots were saved; what `diff` and `baseline set` take.
    public var id: Int64
    /// Seconds since the Unix epoch.
    public var time: Int64
    /// The note given with `snapshot --label`; nil when none was.
    public var label: String?
    /// The host's kernel name when the snapshot was taken; nil when it could not be read.
    public var hostname: String?
    /// Where the socket table came from ("netlink", "procfs", ...).
    public var source: String
    /// How many sockets the snapshot stores (SO_REUSEPORT siblings each count).
    public var listenerCount: Int
    /// How many findings the snapshot stores, after the policy.
    public var findingCount: Int
    /// Findings per severity.
    public var severities: [Severity: Int]

    /// Builds a header from its stored columns; `severities` defaults to empty (no findings counted).
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
    /// The snapshot that is the baseline.
    public var snapshot: SnapshotInfo
    /// When it was made the baseline (seconds since the epoch).
    public var setAt: Int64

    /// Builds the record of which snapshot is the baseline and since when.
    public init(snapshot: SnapshotInfo, setAt: Int64) {
        self.snapshot = snapshot
        self.setAt = setAt
    }
}

/// A watch event as stored by `watch --record`.
public struct StoredEvent: Sendable, Hashable {
    /// The event's row id in the history database, ascending in the order events were recorded.
    public var id: Int64
    /// When `watch` saw the change, in milliseconds since the Unix epoch.
    public var timeMilliseconds: Int64
    /// The event's kind as `WatchEvent.Kind` spells it (`opened`, `closed`, `owner_changed`).
    public var kind: String
    /// The listener as `ListenerKey.description` writes it (`tcp 0.0.0.0:22`).
    public var key: String
    /// The event's JSON object, as `watch --format ndjson` printed it.
    public var json: String

    /// Builds an event from its stored columns.
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
    /// When that side was taken (seconds since the epoch): the snapshot's time, or now for the live host.
    public var time: Int64
    /// The snapshot is the current baseline, which the header then says.
    public var isBaseline: Bool

    /// Builds one side; `snapshot` nil means the live host.
    public init(snapshot: SnapshotInfo?, time: Int64, isBaseline: Bool = false) {
        self.snapshot = snapshot
        self.time = time
        self.isBaseline = isBaseline
    }

    /// "live host", or "snapshot N" with " (baseline)" and the quoted label when they apply.
    public var name: String {
        guard let snapshot else { return "live host" }
        var text = "snapshot \(snapshot.id)"
        if isBaseline { text += " (baseline)" }
        if let label = snapshot.label, !label.isEmpty { text += " \"\(label)\"" }
        return text
    }
}
