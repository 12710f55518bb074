/// What acting on a close plan did, what can be reverted, and what the port
/// looked like afterwards.

/// A rule portcullis added to its table, by chain and nft handle.
public struct NftRuleHandle: Sendable, Hashable {
    /// `prerouting` or `output`.
    public var chain: String
    /// The handle nft echoed when the rule was added.
    public var handle: UInt64

    /// A rule's place.
    public init(chain: String, handle: UInt64) {
        self.chain = chain
        self.handle = handle
    }
}

/// How to revert one applied step, as journaled.
public enum CloseUndo: Sendable, Hashable {
    /// Delete these rules from table `inet portcullis` (and the table when it is left empty).
    case deleteRules([NftRuleHandle])
    /// `systemctl start` these units (they were active before).
    case startUnits([String])
    /// `systemctl enable` these (they were enabled before).
    case enableUnits([String])
    /// `systemctl unmask` these.
    case unmaskUnits([String])
    /// `RUNTIME update --restart=POLICY`: the policy the container had.
    case restoreRestartPolicy(CloseContainer, policy: String)
    /// `RUNTIME start` the container.
    case startContainer(CloseContainer)
    /// Nothing can revert it (a killed process, a destroyed connection); the text says what to do instead.
    case irreversible(String)

    /// The kind, as JSON spells it.
    public var kind: String {
        switch self {
        case .deleteRules: return "delete_rules"
        case .startUnits: return "start_units"
        case .enableUnits: return "enable_units"
        case .unmaskUnits: return "unmask_units"
        case .restoreRestartPolicy: return "restore_restart_policy"
        case .startContainer: return "start_container"
        case .irreversible: return "irreversible"
        }
    }

    /// What the undo does, in words.
    public var summary: String {
        switch self {
        case .deleteRules(let rules):
            return "nft delete rule inet portcullis " + rules.map { "\($0.chain) handle \($0.handle)" }.joined(separator: ", ")
        case .startUnits(let units): return "systemctl start \(units.joined(separator: " "))"
        case .enableUnits(let units): return "systemctl enable \(units.joined(separator: " "))"
        case .unmaskUnits(let units): return "systemctl unmask \(units.joined(separator: " "))"
        case .restoreRestartPolicy(let c, let policy): return "\(c.runtime) update --restart=\(policy) \(c.label)"
        case .startContainer(let c): return "\(c.runtime) start \(c.label)"
        case .irreversible(let why): return why
        }
    }
}

/// One step as carried out.
public struct CloseStepOutcome: Sendable, Hashable {
    /// Whether it happened.
    public enum Status: String, Sendable, Hashable {
        /// It did what it says.
        case done
        /// It was tried and failed (`detail` says why).
        case failed
        /// It was not tried: an earlier step failed, or it was not needed.
        case skipped
    }
    /// The step's kind (`CloseStep.kind`).
    public var kind: String
    /// The step in words.
    public var summary: String
    /// Whether it happened.
    public var status: Status
    /// What happened, in words: the signals sent, the handles, the error.
    public var detail: String
    /// How to revert it; nil when nothing was changed.
    public var undo: [CloseUndo]

    /// An outcome.
    public init(kind: String, summary: String, status: Status, detail: String, undo: [CloseUndo] = []) {
        self.kind = kind
        self.summary = summary
        self.status = status
        self.detail = detail
        self.undo = undo
    }
}

/// The port after acting, checked afresh.
public struct CloseVerification: Sendable, Hashable {
    /// What the check found.
    public enum Status: String, Sendable, Hashable {
        /// No socket of the namespace listens on the port, and it can be bound.
        case free
        /// The drop rule is in place, and a connection to the port from inside the namespace gets no answer.
        case filtered
        /// The established connections are gone (the listener, if any, remains).
        case connectionsReset = "connections_reset"
        /// Something still holds or answers on the port.
        case stillOpen = "still_open"
    }
    /// What the check found.
    public var status: Status
    /// How it was checked, and what was seen.
    public var detail: String
    /// What still holds the port, when it is still open.
    public var stillHeldBy: [CloseProcess]

    /// A verification.
    public init(status: Status, detail: String, stillHeldBy: [CloseProcess] = []) {
        self.status = status
        self.detail = detail
        self.stillHeldBy = stillHeldBy
    }

    /// The port is closed as the method promises.
    public var succeeded: Bool { status != .stillOpen }
}

/// What `close --yes` did.
public struct CloseResult: Sendable {
    /// The journal entry's id (nil when no journal could be written; the result says so in a diagnostic).
    public var journalID: Int64?
    /// Every step, in order.
    public var outcomes: [CloseStepOutcome]
    /// The port afterwards; nil when no step succeeded.
    public var verification: CloseVerification?
    /// From the first step to the end of verification.
    public var elapsedMilliseconds: Int64

    /// A result.
    public init(journalID: Int64?, outcomes: [CloseStepOutcome], verification: CloseVerification?, elapsedMilliseconds: Int64) {
        self.journalID = journalID
        self.outcomes = outcomes
        self.verification = verification
        self.elapsedMilliseconds = elapsedMilliseconds
    }

    /// Every step succeeded and the port was verified closed as the method
    /// promises (free, filtered or its connections reset): `close` exits 0.
    public var closedAsPromised: Bool {
        (verification?.succeeded ?? false) && !outcomes.contains { $0.status == .failed }
    }
}

/// A close as the journal keeps it: enough to show it and to undo it.
public struct CloseRecord: Sendable, Hashable {
    /// `8080/tcp`.
    public var target: String
    /// The namespace, as the user named it (`host` for portcullis's own when none was named).
    public var namespace: String
    /// The method used.
    public var method: CloseMethod
    /// The steps as carried out (before acting: as planned, status `skipped`).
    public var outcomes: [CloseStepOutcome]
    /// The port afterwards, when checked.
    public var verification: CloseVerification?

    /// A record.
    public init(
        target: String, namespace: String, method: CloseMethod, outcomes: [CloseStepOutcome], verification: CloseVerification? = nil
    ) {
        self.target = target
        self.namespace = namespace
        self.method = method
        self.outcomes = outcomes
        self.verification = verification
    }

    /// What to revert, the last step's undo first.
    public var undos: [CloseUndo] { outcomes.reversed().flatMap { $0.undo.reversed() } }
}

/// One undo as carried out.
public struct CloseUndoOutcome: Sendable, Hashable {
    /// What happened.
    public enum Status: String, Sendable, Hashable {
        /// Reverted.
        case reverted
        /// Tried, and failed (`detail` says why).
        case failed
        /// Cannot be reverted; `detail` says what to do instead.
        case irreversible
    }
    /// The undo.
    public var undo: CloseUndo
    /// What happened.
    public var status: Status
    /// In words.
    public var detail: String

    /// An outcome.
    public init(undo: CloseUndo, status: Status, detail: String) {
        self.undo = undo
        self.status = status
        self.detail = detail
    }
}

/// What `close --undo` did to one journaled close.
public struct CloseUndoReport: Sendable, Hashable {
    /// The journal entry.
    public var id: Int64
    /// Its target.
    public var target: String
    /// Its namespace.
    public var namespace: String
    /// Each undo.
    public var outcomes: [CloseUndoOutcome]

    /// A report.
    public init(id: Int64, target: String, namespace: String, outcomes: [CloseUndoOutcome]) {
        self.id = id
        self.target = target
        self.namespace = namespace
        self.outcomes = outcomes
    }

    /// Every revertible step was reverted.
    public var succeeded: Bool { !outcomes.contains { $0.status == .failed } }
}
