/// Turns the facts about a port into a plan: which method, why, the steps,
/// what comes back by itself, and what must not be done without `--force`.
public enum ClosePlanner {
    /// The methods tried when none is asked for, least invasive first.
    /// `firewall` only when no socket of the namespace holds the port (a
    /// DNAT-published port); `destroy` only when asked for.
    static let automaticOrder: [CloseMethod] = [.unit, .container, .process]

    /// The plan for `facts` and `request`.
    public static func plan(_ facts: CloseFacts, _ request: CloseRequest = CloseRequest()) -> ClosePlan {
        var plan = ClosePlan(facts: facts, request: request, method: nil, reason: "")
        if plan.nothingToClose {
            plan.reason = "nothing in namespace \(facts.namespace) holds or publishes \(facts.target): it is closed already"
            return plan
        }
        plan.leaders = leaders(facts)
        plan.commonParent = commonParent(facts)
        plan.units = units(facts)

        let applicable = CloseMethod.allCases.filter { notApplicable($0, facts) == nil }
        if let asked = request.method {
            if let why = notApplicable(asked, facts) {
                plan.refusals.append(
                    CloseRefusal(kind: .methodNotApplicable, reason: "--method \(asked.rawValue): \(why)", overridable: false))
                plan.reason = "--method \(asked.rawValue) was asked for"
                return plan
            }
            plan.method = asked
            plan.reason = "--method \(asked.rawValue) was asked for"
        } else if facts.holders.isEmpty && facts.sockets.isEmpty {
            plan.method = .firewall
            plan.reason =
                "no socket of namespace \(facts.namespace) holds \(facts.target); "
                + "\(publicationText(facts)) publishes it, so only a firewall rule that acts before DNAT closes it"
        } else if let method = automaticOrder.first(where: { applicable.contains($0) && facts.unavailable[$0] == nil }) {
            plan.method = method
            plan.reason = automaticReason(method, facts, skipped: automaticOrder.prefix { $0 != method })
        } else {
            plan.reason = "no method applies to what holds \(facts.target)"
        }
        guard let method = plan.method else { return plan }
        if let why = facts.unavailable[method] {
            plan.refusals.append(CloseRefusal(kind: .methodUnavailable, reason: "method \(method.rawValue): \(why)", overridable: false))
        }
        plan.steps = steps(method, facts, request, leaders: plan.leaders, units: plan.units)
        plan.comesBack = comesBack(method, facts, request, units: plan.units)
        plan.notes = notes(method, facts)
        plan.refusals += safetyRefusals(method, facts)
        return plan
    }

    // MARK: Who holds it

    /// Holders whose parent holds none of the sockets: a pre-forked server's master, a lone daemon.
    static func leaders(_ facts: CloseFacts) -> [CloseProcess] {
        let holding = Set(facts.holders.map(\.pid))
        return facts.holders.filter { !holding.contains($0.ppid) }.sorted { $0.pid < $1.pid }
    }

    /// The nearest process every holder is, or descends from; nil when it would be pid 1 (or none).
    static func commonParent(_ facts: CloseFacts) -> CloseProcess? {
        guard facts.holders.count > 1 else { return nil }
        var byPID = facts.parents
        for holder in facts.holders { byPID[holder.pid] = holder }
        func chain(_ pid: Int32) -> [Int32] {
            var out: [Int32] = []
            var current: Int32? = pid
            while let pid = current, pid > 1, !out.contains(pid), out.count < 64 {
                out.append(pid)
                current = byPID[pid]?.ppid
            }
            return out
        }
        let chains = facts.holders.map { chain($0.pid) }
        guard let first = chains.first else { return nil }
        let others = chains.dropFirst().map(Set.init)
        guard let pid = first.first(where: { pid in others.allSatisfy { $0.contains(pid) } }) else { return nil }
        return byPID[pid]
    }

    /// The holders' service units, then the socket units that start them or listen on the port.
    static func units(_ facts: CloseFacts) -> [String] {
        var services: [String] = []
        for holder in facts.holders {
            if let unit = holder.unit, unit.hasSuffix(".service"), !services.contains(unit) { services.append(unit) }
        }
        var sockets: [String] = []
        func add(_ unit: String) { if unit.hasSuffix(".socket") && !sockets.contains(unit) { sockets.append(unit) } }
        for service in services { facts.units[service]?.triggeredBy.forEach(add) }
        for socketUnit in facts.socketUnits where socketUnit.port == facts.port {
            add(socketUnit.name)
            for service in socketUnit.activates where service.hasSuffix(".service") && !services.contains(service) {
                services.append(service)
            }
        }
        // Socket units first: stopped before their service, nothing re-activates it.
        return sockets + services
    }

    /// Why `method` cannot close the port, or nil when it can.
    static func notApplicable(_ method: CloseMethod, _ facts: CloseFacts) -> String? {
        let holders = facts.holders
        switch method {
        case .unit:
            if holders.isEmpty { return "no process holds \(facts.target)" }
            let socketUnitPort = facts.socketUnits.contains { $0.port == facts.port }
            let outside = holders.filter { holder in
                !(holder.unit?.hasSuffix(".service") ?? false) && !(holder.pid == 1 && socketUnitPort)
            }
            if let first = outside.first {
                return "\(first.label) runs in no systemd service unit\(first.unit.map { " (its cgroup names \($0))" } ?? "")"
            }
            return nil
        case .container:
            if holders.isEmpty { return "no process holds \(facts.target)" }
            if let first = holders.first(where: { $0.container == nil }) { return "\(first.label) runs in no container" }
            let known = Set(facts.containers.map(\.id))
            if let first = holders.first(where: { !known.contains($0.container ?? "") }) {
                return "the runtime that runs \(first.label)'s container \(first.container?.prefix(12) ?? "") is not known"
            }
            return nil
        case .process:
            return holders.isEmpty ? "no process of this namespace holds \(facts.target)" : nil
        case .firewall:
            return nil
        case .destroy:
            if facts.proto == .udp { return "SOCK_DESTROY closes TCP connections; UDP has none" }
            return establishedTCP(facts).isEmpty ? "\(facts.target) has no established TCP connection to destroy" : nil
        }
    }

    static func establishedTCP(_ facts: CloseFacts) -> [CloseSocket] {
        facts.sockets.filter { $0.record.proto == .tcp && $0.record.state == .established }
    }

    static func publicationText(_ facts: CloseFacts) -> String {
        let targets = facts.publications.map(\.summary)
        return Array(Set(targets)).sorted().joined(separator: ", ")
    }

    static func automaticReason(_ method: CloseMethod, _ facts: CloseFacts, skipped: ArraySlice<CloseMethod>) -> String {
        var why: String
        switch method {
        case .unit:
            why = "every holder runs in a systemd unit: stopping it (and its socket units) is what systemd expects, and it stays stopped"
        case .container: why = "every holder runs in a container: stopping it (restart policy off first) keeps the runtime's view true"
        default: why = "signalling the holders is the only way left"
        }
        let passed = skipped.map { m in "\(m.rawValue): \(facts.unavailable[m] ?? notApplicable(m, facts) ?? "not chosen")" }
        if !passed.isEmpty { why += " (not " + passed.joined(separator: "; not ") + ")" }
        return why
    }

    // MARK: Steps and consequences

    static func steps(_ method: CloseMethod, _ facts: CloseFacts, _ request: CloseRequest, leaders: [CloseProcess], units: [String])
        -> [CloseStep]
    {
        switch method {
        case .unit:
            var steps: [CloseStep] = [.stopUnits(units)]
            if request.disable { steps.append(.disableUnits(units)) }
            if request.mask { steps.append(.maskUnits(units)) }
            return steps
        case .container:
            let ids = Set(facts.holders.compactMap(\.container))
            return facts.containers.filter { ids.contains($0.id) }.flatMap { c -> [CloseStep] in
                c.restartsByItself ? [.disableContainerRestart(c), .stopContainer(c)] : [.stopContainer(c)]
            }
        case .process:
            return [.signal(leaders: leaders, holders: facts.holders, graceMilliseconds: request.graceMilliseconds)]
        case .firewall:
            return [.firewallDrop(proto: ClosePlan(facts: facts, request: request, method: nil, reason: "").protocols, port: facts.port)]
        case .destroy:
            return [.destroySockets(establishedTCP(facts))]
        }
    }

    static func comesBack(_ method: CloseMethod, _ facts: CloseFacts, _ request: CloseRequest, units: [String]) -> [String] {
        var back: [String] = []
        switch method {
        case .unit:
            if !request.disable && !request.mask {
                for name in units where facts.units[name]?.isEnabled ?? false {
                    back.append("\(name) is enabled: it starts again at the next boot (add --disable, or --mask)")
                }
            }
            if request.disable && !request.mask {
                back.append("a disabled unit can still be started by hand or by a unit that wants it (--mask prevents both)")
            }
        case .container:
            for c in facts.containers {
                back.append(
                    "\(c.runtime) start \(c.label), a compose file or an orchestrator can start it again"
                        + (c.restartsByItself ? "; its restart policy \(c.restartPolicy ?? "") is set to no first" : ""))
            }
        case .process:
            for unit in Set(facts.holders.compactMap(\.unit)).sorted() {
                guard let state = facts.units[unit] else { continue }
                if state.restartsAfterTerm {
                    back.append("systemd restarts \(unit) (Restart=\(state.restart)) as soon as it exits: use --method unit")
                } else if state.restartsAfterKill {
                    back.append("systemd restarts \(unit) (Restart=\(state.restart)) if it has to be killed after the grace")
                }
                for socket in state.triggeredBy where socket.hasSuffix(".socket") {
                    back.append("\(socket) keeps listening (systemd holds it): the next connection starts \(unit) again; use --method unit")
                }
            }
            for c in facts.containers where c.restartsByItself {
                back.append("\(c.runtime) restarts container \(c.label) (restart policy \(c.restartPolicy ?? "")): use --method container")
            }
            if facts.holders.contains(where: { $0.pid == 1 }) {
                back.append("pid 1 holds the port; it is the init system, not a server: use --method unit or --method firewall")
            }
        case .firewall:
            back.append("the rule lives in the kernel only: it is gone after a reboot, or when the ruleset is flushed or reloaded")
            if !facts.holders.isEmpty {
                back.append(
                    "the listener keeps running behind the rule (for this host's own clients too); it answers again once the rule goes")
            }
        case .destroy:
            back.append("the listener stays bound and accepts new connections at once; clients may simply reconnect")
        }
        return back
    }

    static func notes(_ method: CloseMethod, _ facts: CloseFacts) -> [String] {
        var notes: [String] = []
        if !facts.publications.isEmpty {
            notes.append(
                "\(facts.target) is published by \(publicationText(facts)): connections to it never reach a socket of this namespace")
        }
        if method == .destroy {
            notes.append(
                "SOCK_DESTROY (as ss -K) only resets connections; destroying a listener would leave its port bound (bind fails "
                    + "with EADDRINUSE) while ss and /proc/net stop showing it, so portcullis never destroys listeners")
        }
        return notes
    }

    /// The session's own port and pid 1: refused unless `--force`.
    static func safetyRefusals(_ method: CloseMethod, _ facts: CloseFacts) -> [CloseRefusal] {
        var refusals: [CloseRefusal] = []
        if facts.proto != .udp && facts.sessionPorts.contains(facts.port) {
            let evidence = facts.sessionEvidence.isEmpty ? "" : " (\(facts.sessionEvidence.joined(separator: "; ")))"
            refusals.append(
                CloseRefusal(
                    kind: .sessionPort,
                    reason: "\(facts.target) carries the session this command runs in\(evidence): closing it could lock you out",
                    overridable: true))
        }
        if method == .process, let initProcess = facts.holders.first(where: { $0.pid == 1 }) {
            refusals.append(
                CloseRefusal(
                    kind: .pidOne,
                    reason: "\(initProcess.label) holds \(facts.target): killing pid 1 panics the kernel or stops the whole container",
                    overridable: true))
        }
        return refusals
    }
}
