import PortcullisCore

/// Carries out a close plan on the live host, step by step, and checks the
/// port afterwards; reverts a journaled close. Every step records how to
/// undo it as it happens, so a failure half-way still leaves a true journal.
public struct PortCloser: Sendable {
    /// The namespace the plan was made in.
    public var namespace: CloseNamespace
    /// The programs it drives.
    public var tools: CloseTools
    /// How long verification waits for the port to be released after a unit or container stop.
    public var settleMilliseconds: Int64 = 1000

    /// A closer for `namespace`.
    public init(namespace: CloseNamespace, tools: CloseTools = CloseTools()) {
        self.namespace = namespace
        self.tools = tools
    }

    /// portcullis's own nftables table: its rules never mix with the administrator's.
    public static let table = "portcullis"
    /// Its chains' priority: before DNAT (-100), so a published port is dropped before it is rewritten.
    public static let chainPriority = -150

    /// Carries out `plan` (whose refusals the caller has honoured). `journalID` goes into firewall rules'
    /// comments; `progress` hears each outcome as it happens.
    public func apply(_ plan: ClosePlan, journalID: Int64?, progress: (CloseStepOutcome) -> Void = { _ in }) -> CloseResult {
        let start = Sys.monotonicMilliseconds()
        var outcomes: [CloseStepOutcome] = []
        var failed = false
        for step in plan.steps {
            let outcome: CloseStepOutcome
            if failed {
                outcome = CloseStepOutcome(kind: step.kind, summary: step.summary, status: .skipped, detail: "an earlier step failed")
            } else {
                outcome = perform(step, plan: plan, journalID: journalID)
                failed = outcome.status == .failed
            }
            progress(outcome)
            outcomes.append(outcome)
        }
        let acted = outcomes.contains { $0.status == .done }
        let verification = acted ? verify(plan, outcomes: outcomes) : nil
        return CloseResult(
            journalID: journalID, outcomes: outcomes, verification: verification, elapsedMilliseconds: Sys.monotonicMilliseconds() - start)
    }

    func perform(_ step: CloseStep, plan: ClosePlan, journalID: Int64?) -> CloseStepOutcome {
        func outcome(_ status: CloseStepOutcome.Status, _ detail: String, undo: [CloseUndo] = []) -> CloseStepOutcome {
            CloseStepOutcome(kind: step.kind, summary: step.summary, status: status, detail: detail, undo: undo)
        }
        func drive(_ cli: [String], _ arguments: [String], undo: [CloseUndo]) -> CloseStepOutcome {
            do {
                _ = try namespace.run { Result { () throws(CloseTools.Failure) in try tools.run(cli, arguments) } }.get()
                return outcome(.done, "", undo: undo)
            } catch {
                return outcome(.failed, "\(error)")
            }
        }
        let units = plan.facts.units
        switch step {
        case .stopUnits(let names):
            let active = names.filter { units[$0]?.isActive ?? true }
            return drive(tools.systemctl, ["stop", "--"] + names, undo: active.isEmpty ? [] : [.startUnits(active)])
        case .disableUnits(let names):
            let enabled = names.filter { units[$0]?.isEnabled ?? false }
            return drive(tools.systemctl, ["disable", "--"] + names, undo: enabled.isEmpty ? [] : [.enableUnits(enabled)])
        case .maskUnits(let names):
            return drive(tools.systemctl, ["mask", "--"] + names, undo: [.unmaskUnits(names)])
        case .disableContainerRestart(let c):
            return drive(
                cli(c), ["update", "--restart=no", c.id], undo: [.restoreRestartPolicy(c, policy: c.restartPolicy ?? "no")])
        case .stopContainer(let c):
            let seconds = (plan.request.graceMilliseconds + 999) / 1000
            return drive(cli(c), ["stop", "--time", String(seconds), c.id], undo: [.startContainer(c)])
        case .signal(let leaders, let holders, let grace):
            let (status, detail, signalled) = signal(leaders: leaders, holders: holders, graceMilliseconds: grace)
            let undo: [CloseUndo] =
                signalled.isEmpty
                ? []
                : [
                    .irreversible(
                        "portcullis cannot restart what it signalled; start it again as it was started: "
                            + signalled.map { "\($0.cmdline.isEmpty ? $0.name : $0.cmdline) (was pid \($0.pid))" }.joined(separator: "; "))
                ]
            return outcome(status, detail, undo: undo)
        case .firewallDrop(let protos, let port):
            return firewallDrop(
                protos, port: port, comment: "portcullis close \(journalID.map(String.init) ?? "-") \(plan.facts.target)", step)
        case .destroySockets(let sockets):
            return destroy(sockets, step)
        }
    }

    func cli(_ container: CloseContainer) -> [String] { container.runtime == "podman" ? tools.podman : tools.docker }
}
