import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// The history database: where it lives unless a path is given.
public enum HistoryLocation {
    /// Opens the database at `path`, or at the default location for this
    /// user (/var/lib/portcullis/portcullis.db as root, else under
    /// $XDG_STATE_HOME or ~/.local/state), creating its directories.
    /// `firstStep` is what a read-only open of a missing file tells the user to do.
    public static func open(path: String?, mode: HistoryStore.Mode, firstStep: String? = nil) throws(JobError) -> HistoryStore {
        var options = HistoryStore.Options()
        options.mode = mode
        if let firstStep { options.firstStep = firstStep }
        let file: String
        if let path {
            file = path
        } else {
            guard let fallback = HistoryStore.defaultPath(effectiveUID: Console.effectiveUID, environment: Console.environment) else {
                throw .noHistoryLocation
            }
            file = fallback
            options.createDirectories = true
        }
        do { return try HistoryStore(path: file, options: options) } catch { throw .store(error) }
    }
}

/// A stored snapshot named on a command line: `baseline` or an id.
public enum SnapshotRef: Sendable, Equatable {
    case baseline
    case id(Int64)

    /// `word` as the user typed it: `baseline` or an id. `option` names
    /// the argument in the error.
    public init(parsing word: String, option: String) throws(JobError) {
        self = word == "baseline" ? .baseline : .id(try Self.id(parsing: word, option: option))
    }

    /// A snapshot id as the user typed it.
    public static func id(parsing word: String, option: String) throws(JobError) -> Int64 {
        guard let id = Int64(word), id > 0 else {
            throw .invalidInput(
                "invalid snapshot '\(word)' for \(option): a snapshot id is a positive number (portcullis history lists them)")
        }
        return id
    }

    /// The snapshot's id; `.noBaseline` when it is the baseline and none is set.
    public func resolve(in store: HistoryStore) throws(JobError) -> Int64 {
        switch self {
        case .id(let id): return id
        case .baseline:
            do { return try store.requireBaseline().snapshot.id } catch { throw .store(error) }
        }
    }
}

/// The live host as a snapshot stores it: the listening sockets with owners
/// and exposure, and the audit's findings.
public struct LiveState: Sendable {
    /// The listeners and findings, as a snapshot stores them.
    public var content: SnapshotContent
    /// Where the socket table came from ("netlink", "procfs", ...).
    public var source: String
    /// The host's name from its kernel, when known.
    public var hostname: String?
    /// What could not be read or attributed while collecting.
    public var diagnostics: [Diagnostic]
    /// Remote peers connected to listeners beyond loopback (`snapshot_client`); nil when not read.
    public var clients: [ClientSighting]? = nil

    /// Audits the host (see `AuditJob`) and keeps what a snapshot stores.
    public static func collect(_ audit: AuditJob.Options) throws(JobError) -> LiveState {
        let report = try AuditJob.run(audit)
        return LiveState(
            content: SnapshotContent(entries: report.inventory.entries, findings: report.audit.findings),
            source: report.inventory.source, hostname: audit.source.hostname, diagnostics: report.diagnostics,
            clients: report.clients)
    }
}

/// `portcullis snapshot`: the live state saved in the history database.
public enum SnapshotJob {
    /// The stored snapshot and what collecting it noticed.
    public struct Report: Sendable {
        /// The stored snapshot's header (its id, time and counts).
        public var snapshot: SnapshotInfo
        /// What could not be read or attributed while collecting; also stored with the snapshot.
        public var diagnostics: [Diagnostic]
    }

    /// Collects the live state and saves it in one transaction.
    public static func take(into store: HistoryStore, label: String?, audit: AuditJob.Options = AuditJob.Options()) throws(JobError)
        -> Report
    {
        let live = try LiveState.collect(audit)
        do {
            let info = try store.saveSnapshot(
                live.content, time: Clock.now(), label: label, hostname: live.hostname,
                source: live.source, diagnostics: live.diagnostics, clients: live.clients)
            return Report(snapshot: info, diagnostics: live.diagnostics)
        } catch {
            throw .store(error)
        }
    }
}

/// `portcullis baseline`: the snapshot `diff` and `audit --baseline` compare with.
public enum BaselineJob {
    /// The baseline now in effect.
    public struct Report: Sendable {
        /// The baseline snapshot's header and when it became the baseline.
        public var baseline: BaselineInfo
        /// Diagnostics of the snapshot taken to be the baseline, if one was taken.
        public var diagnostics: [Diagnostic]
    }

    /// Makes `snapshot` the baseline, or a snapshot taken now (labelled
    /// `label`, default "baseline") when it is nil.
    public static func set(
        in store: HistoryStore, snapshot: Int64?, label: String? = nil,
        audit: AuditJob.Options = AuditJob.Options()
    ) throws(JobError) -> Report {
        var diagnostics: [Diagnostic] = []
        let id: Int64
        if let snapshot {
            id = snapshot
        } else {
            let taken = try SnapshotJob.take(into: store, label: label ?? "baseline", audit: audit)
            diagnostics = taken.diagnostics
            id = taken.snapshot.id
        }
        do { return Report(baseline: try store.setBaseline(id, at: Clock.now()), diagnostics: diagnostics) } catch { throw .store(error) }
    }

    /// The baseline with its listeners and findings; `.noBaseline` when none is set.
    public static func show(in store: HistoryStore) throws(JobError) -> (BaselineInfo, SnapshotContent) {
        do {
            let baseline = try store.requireBaseline()
            return (baseline, try store.content(of: baseline.snapshot.id))
        } catch {
            throw .store(error)
        }
    }

    /// The baseline's listener keys, for `AuditJob.Options.baseline`.
    public static func listeners(in store: HistoryStore) throws(JobError) -> BaselineListeners {
        let (baseline, content) = try show(in: store)
        return BaselineListeners(
            snapshotID: baseline.snapshot.id, time: baseline.snapshot.time,
            keys: Set(content.entries.map { ListenerKey($0) }))
    }
}

/// `portcullis diff`: what changed between two snapshots, or a snapshot and the live host.
public enum DiffJob {
    /// The newer side of a comparison.
    public enum Target: Sendable, Equatable {
        case snapshot(SnapshotRef)
        /// The host as it is now, collected with these audit options.
        case live
    }

    /// The difference and the two sides compared.
    public struct Report: Sendable {
        /// Listeners added and removed, owner and exposure changes, findings new and resolved.
        public var diff: HistoryDiff
        /// The older side.
        public var from: DiffSide
        /// The newer side (the live host when its snapshot is nil).
        public var to: DiffSide
        /// The live collection's diagnostics (none when both sides are stored).
        public var diagnostics: [Diagnostic]
    }

    /// Compares `from` with `to`; an unknown snapshot or a missing baseline is a usage error (`.store`).
    public static func run(
        in store: HistoryStore, from: SnapshotRef = .baseline, to: Target = .live,
        audit: AuditJob.Options = AuditJob.Options()
    ) throws(JobError) -> Report {
        let baselineID: Int64?
        do { baselineID = try store.baseline()?.snapshot.id } catch { throw .store(error) }
        func stored(_ ref: SnapshotRef) throws(JobError) -> (SnapshotContent, DiffSide) {
            let id = try ref.resolve(in: store)
            do {
                let info = try store.snapshot(id)
                return (try store.content(of: id), DiffSide(snapshot: info, time: info.time, isBaseline: baselineID == id))
            } catch {
                throw .store(error)
            }
        }
        let (before, fromSide) = try stored(from)
        switch to {
        case .snapshot(let ref):
            let (after, toSide) = try stored(ref)
            return Report(diff: HistoryDiff.compute(from: before, to: after), from: fromSide, to: toSide, diagnostics: [])
        case .live:
            let live = try LiveState.collect(audit)
            return Report(
                diff: HistoryDiff.compute(from: before, to: live.content), from: fromSide,
                to: DiffSide(snapshot: nil, time: Clock.now()), diagnostics: live.diagnostics)
        }
    }
}
