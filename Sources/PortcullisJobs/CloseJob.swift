import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// `portcullis close`: plan, act (journaled first), undo, and list the journal.
public enum CloseJob {
    /// What to close, how, and where the journal is.
    public struct Options: Sendable {
        /// The port.
        public var port: UInt16
        /// Its protocol; nil for both.
        public var proto: TransportProtocol?
        /// `--netns`; nil for portcullis's own namespace.
        public var netns: String?
        /// The method, grace, disable/mask and force flags.
        public var request: CloseRequest
        /// The programs `close` drives.
        public var tools: CloseTools
        /// Where the runtimes' container state is read (names).
        public var containerState: ContainerStateRoots?
        /// The history database (`--db`); nil for the default location.
        public var database: String?
        /// The environment as the session sees it (SSH_CONNECTION); nil reads the process's own.
        public var environment: (@Sendable (String) -> String?)?

        /// Options for closing `port`.
        public init(
            port: UInt16, proto: TransportProtocol? = nil, netns: String? = nil, request: CloseRequest = CloseRequest(),
            tools: CloseTools = CloseTools(), containerState: ContainerStateRoots? = ContainerStateRoots(), database: String? = nil,
            environment: (@Sendable (String) -> String?)? = nil
        ) {
            self.port = port
            self.proto = proto
            self.netns = netns
            self.request = request
            self.tools = tools
            self.containerState = containerState
            self.database = database
            self.environment = environment
        }
    }

    /// A plan, with where it was made and what could not be read.
    public struct Prepared: Sendable {
        /// The plan.
        public var plan: ClosePlan
        /// The namespace it acts in.
        public var namespace: CloseNamespace
        /// What could not be read.
        public var diagnostics: [Diagnostic]

        /// Whether acting is allowed: something to close, a method, and no refusal that stands.
        public var canAct: Bool { !plan.nothingToClose && plan.method != nil && plan.blockingRefusals.isEmpty }
    }

    /// Reads the facts and makes the plan; changes nothing.
    public static func plan(_ options: Options) throws(JobError) -> Prepared {
        do {
            let namespace = try CloseFactGatherer.namespace(options.netns)
            let (facts, diagnostics) = try CloseFactGatherer.gather(
                port: options.port, proto: options.proto, in: namespace, tools: options.tools, containerState: options.containerState,
                environment: options.environment)
            return Prepared(plan: ClosePlanner.plan(facts, options.request), namespace: namespace, diagnostics: diagnostics)
        } catch { throw .close(error) }
    }

    /// Carries out `prepared` (which must `canAct`): journals the plan
    /// first (so a crash half-way still leaves a record to undo from), acts,
    /// verifies, and journals the outcome. Nothing is done if the journal
    /// cannot be written.
    public static func apply(
        _ prepared: Prepared, options: Options, progress: (CloseStepOutcome) -> Void = { _ in }
    ) throws(JobError) -> CloseResult {
        guard prepared.canAct, let method = prepared.plan.method else {
            throw .invalidInput("the plan cannot be carried out: " + (prepared.plan.blockingRefusals.first?.reason ?? prepared.plan.reason))
        }
        let store = try HistoryLocation.open(path: options.database, mode: .readWrite)
        let plan = prepared.plan
        let planned = plan.steps.map { CloseStepOutcome(kind: $0.kind, summary: $0.summary, status: .skipped, detail: "planned") }
        var record = CloseRecord(target: plan.facts.target, namespace: prepared.namespace.label, method: method, outcomes: planned)
        let id: Int64
        do {
            // The namespace as --netns can name it again at undo time (an `ip netns exec NS` run records NS).
            let own = prepared.namespace.namespace
            let namespace = options.netns ?? (own.isHost ? nil : own.name ?? String(own.inode))
            id = try store.journalClose(
                time: Clock.realtimeMilliseconds(), target: record.target, namespace: namespace, method: method.rawValue,
                document: CloseRenderer.journalDocument(record))
        } catch { throw .store(error) }
        let closer = PortCloser(namespace: prepared.namespace, tools: options.tools)
        let result = closer.apply(plan, journalID: id, progress: progress)
        record.outcomes = result.outcomes
        record.verification = result.verification
        do { try store.updateClose(id: id, document: CloseRenderer.journalDocument(record)) } catch { throw .store(error) }
        return result
    }

    /// Reverts journal entry `id` (nil: the newest not yet undone) and marks it undone.
    public static func undo(_ id: Int64?, options: Options) throws(JobError) -> CloseUndoReport {
        let store = try HistoryLocation.open(path: options.database, mode: .readWrite, firstStep: "nothing has been closed yet")
        let entry: CloseJournalEntry
        do { entry = try store.closeAction(id: id) } catch { throw .store(error) }
        if entry.undoneTime != nil {
            throw .invalidInput("close \(entry.id) (\(entry.target)) was undone already; `portcullis close --journal` lists them")
        }
        let record: CloseRecord
        do { record = try CloseRenderer.record(fromJournal: entry.document) } catch {
            throw .invalidInput("journal entry \(entry.id) cannot be read back: \(error)")
        }
        let namespace: CloseNamespace
        do { namespace = try CloseFactGatherer.namespace(entry.namespace) } catch { throw .close(error) }
        let outcomes = PortCloser(namespace: namespace, tools: options.tools).undo(record)
        let report = CloseUndoReport(id: entry.id, target: entry.target, namespace: namespace.label, outcomes: outcomes)
        do {
            try store.markCloseUndone(
                id: entry.id, time: Clock.realtimeMilliseconds(), undoDocument: CloseRenderer.json(report).serialized())
        } catch { throw .store(error) }
        return report
    }

    /// The journal, newest first.
    public static func journal(options: Options) throws(JobError) -> [CloseRenderer.JournalLine] {
        let store = try HistoryLocation.open(path: options.database, mode: .readOnly, firstStep: "nothing has been closed yet")
        do {
            return try store.closeActions().map {
                CloseRenderer.JournalLine(
                    id: $0.id, time: $0.time, target: $0.target, namespace: $0.namespace ?? "host", method: $0.method,
                    undoneTime: $0.undoneTime)
            }
        } catch { throw .store(error) }
    }
}
