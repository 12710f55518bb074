import PortcullisCore

extension PortCloser {
    // MARK: Signals

    /// A holder pinned by a pidfd after its identity was re-checked.
    struct Pinned {
        var process: CloseProcess
        var pidfd: Int32
    }

    /// Opens a pidfd for each holder and keeps it only if the pid still is
    /// the process of the plan (same start time) and still holds one of the
    /// port's sockets. From then on the pidfd names that process and no
    /// other, whatever pid reuse happens: no race between check and signal.
    func pin(_ holders: [CloseProcess], notes: inout [String]) -> [Pinned] {
        guard let procfs = try? ProcFS() else {
            notes.append("cannot open /proc: nothing signalled")
            return []
        }
        var pinned: [Pinned] = []
        for holder in holders {
            let pidfd: Int32
            do { pidfd = try Sys.openProcess(holder.pid) } catch {
                notes.append("pid \(holder.pid) has exited already")
                continue
            }
            guard let ticks = CloseFactGatherer.startTicks(holder.pid, procfs), ticks == holder.startTicks else {
                Sys.close(pidfd)
                notes.append(
                    "pid \(holder.pid) is no longer \(holder.name) of the plan (its start time changed: the pid was reused): not signalled")
                continue
            }
            var holds = false
            if let process = try? procfs.process(holder.pid) {
                try? process.forEachSocket { _, inode in holds = holds || holder.inodes.contains(inode) }
            }
            guard holds else {
                Sys.close(pidfd)
                notes.append("pid \(holder.pid) (\(holder.name)) no longer holds the port: not signalled")
                continue
            }
            pinned.append(Pinned(process: holder, pidfd: pidfd))
        }
        return pinned
    }

    /// Whether `pinned` still holds one of its sockets of the port (false once it exited).
    func stillHolds(_ pinned: Pinned, _ procfs: ProcFS?) -> Bool {
        if Sys.hasExited(pidfd: pinned.pidfd) { return false }
        guard let procfs, let process = try? procfs.process(pinned.process.pid) else { return false }
        var holds = false
        try? process.forEachSocket { _, inode in holds = holds || pinned.process.inodes.contains(inode) }
        return holds
    }

    /// SIGTERM to the leaders, then SIGKILL after the grace to every holder still holding the port.
    func signal(leaders: [CloseProcess], holders: [CloseProcess], graceMilliseconds: Int) -> (
        CloseStepOutcome.Status, String, [CloseProcess]
    ) {
        var notes: [String] = []
        let pinned = pin(holders, notes: &notes)
        defer { for p in pinned { Sys.close(p.pidfd) } }
        guard !pinned.isEmpty else { return (.failed, (["no holder could be signalled safely"] + notes).joined(separator: "; "), []) }
        let start = Sys.monotonicMilliseconds()
        let leaderPIDs = Set(leaders.map(\.pid))
        var targets = pinned.filter { leaderPIDs.contains($0.process.pid) }
        // The leader is gone or was replaced: its pinned children get the SIGTERM.
        if targets.isEmpty { targets = pinned }
        var signalled: [CloseProcess] = []
        for target in targets {
            do {
                try Sys.signalProcess(pidfd: target.pidfd, Sys.terminateSignal)
                signalled.append(target.process)
            } catch { notes.append("SIGTERM to pid \(target.process.pid) failed: \(error)") }
        }
        notes.insert("SIGTERM to " + targets.map { "pid \($0.process.pid)" }.joined(separator: ", "), at: 0)
        let procfs = try? ProcFS()
        let deadline = start + Int64(graceMilliseconds)
        var remaining = pinned.filter { stillHolds($0, procfs) }
        while !remaining.isEmpty, Sys.monotonicMilliseconds() < deadline {
            let wait = Int32(clamping: min(20, max(1, deadline - Sys.monotonicMilliseconds())))
            Sys.waitForExit(remaining.map(\.pidfd), milliseconds: wait)
            remaining = remaining.filter { stillHolds($0, procfs) }
        }
        if remaining.isEmpty {
            notes.append("the port was released after \(Sys.monotonicMilliseconds() - start) ms")
            return (.done, notes.joined(separator: "; "), signalled)
        }
        for holder in remaining {
            do {
                try Sys.signalProcess(pidfd: holder.pidfd, Sys.killSignal)
                if !signalled.contains(holder.process) { signalled.append(holder.process) }
            } catch { notes.append("SIGKILL to pid \(holder.process.pid) failed: \(error)") }
        }
        notes.append(
            "still holding after the \(CloseRequest.formatMilliseconds(graceMilliseconds)) grace: SIGKILL to "
                + remaining.map { "pid \($0.process.pid)" }.joined(separator: ", "))
        let killDeadline = Sys.monotonicMilliseconds() + 2000
        while !remaining.isEmpty, Sys.monotonicMilliseconds() < killDeadline {
            Sys.waitForExit(remaining.map(\.pidfd), milliseconds: 20)
            remaining = remaining.filter { stillHolds($0, procfs) }
        }
        if !remaining.isEmpty {
            notes.append(
                "still not gone 2 s after SIGKILL (uninterruptible sleep?): "
                    + remaining.map { "pid \($0.process.pid)" }.joined(separator: ", "))
            return (.failed, notes.joined(separator: "; "), signalled)
        }
        notes.append("the port was released after \(Sys.monotonicMilliseconds() - start) ms")
        return (.done, notes.joined(separator: "; "), signalled)
    }

    // MARK: Firewall

    /// Runs nft inside the namespace with `arguments` (after `--`, so a negative priority is not an option).
    func nft(_ arguments: [String], echo: Bool = false) throws(CloseTools.Failure) -> String {
        let tools = self.tools
        let full = (echo ? ["--echo", "--handle"] : []) + ["--"] + arguments
        let result: Result<String, CloseTools.Failure>
        do {
            result = try namespace.run { Result { () throws(CloseTools.Failure) in try tools.run(tools.nft, full) } }
        } catch { throw CloseTools.Failure(description: error.description) }
        return try result.get()
    }

    /// Table `inet portcullis` with its two base chains, made if missing (nft's `add` is idempotent).
    func ensureTable() throws(CloseTools.Failure) {
        _ = try nft(["add", "table", "inet", Self.table])
        for (chain, hook) in [("prerouting", "prerouting"), ("output", "output")] {
            _ = try nft([
                "add", "chain", "inet", Self.table, chain, "{", "type", "filter", "hook", hook, "priority", String(Self.chainPriority), ";",
                "policy", "accept", ";", "}",
            ])
        }
    }

    func firewallDrop(_ protos: [TransportProtocol], port: UInt16, comment: String, _ step: CloseStep) -> CloseStepOutcome {
        var handles: [NftRuleHandle] = []
        func outcome(_ status: CloseStepOutcome.Status, _ detail: String) -> CloseStepOutcome {
            CloseStepOutcome(
                kind: step.kind, summary: step.summary, status: status, detail: detail, undo: handles.isEmpty ? [] : [.deleteRules(handles)]
            )
        }
        do {
            try ensureTable()
            for proto in protos where proto != .raw {
                for chain in ["prerouting", "output"] {
                    let echoed = try nft(
                        [
                            "add", "rule", "inet", Self.table, chain, "fib", "daddr", "type", "local", proto.rawValue, "dport",
                            String(port),
                            "counter", "drop", "comment", "\"\(comment)\"",
                        ], echo: true)
                    guard let handle = SystemctlText.echoedHandle(echoed) else {
                        return outcome(.failed, "nft added a rule to \(chain) but did not echo its handle: \(UntrustedText.escape(echoed))")
                    }
                    handles.append(NftRuleHandle(chain: chain, handle: handle))
                }
            }
        } catch {
            return outcome(.failed, "\(error)")
        }
        return outcome(.done, "rules " + handles.map { "\($0.chain) handle \($0.handle)" }.joined(separator: ", "))
    }

    // MARK: Verification

    /// The sockets of the namespace bound to the port: TCP listeners and
    /// bound-but-inactive sockets (what a destroyed listener becomes), and UDP sockets.
    func boundSockets(_ protos: [TransportProtocol], port: UInt16) throws(CloseError) -> [SocketRecord] {
        let dumped: Result<[SocketRecord], SockDiagError> = try namespace.run {
            // Made on the namespace's thread, so its netlink sockets are the namespace's.
            var client = SockDiagClient()
            var all: [SocketRecord] = []
            do throws(SockDiagError) {
                for proto in protos where proto != .raw {
                    // A listener destroyed by SOCK_DESTROY keeps its port, listed only as TCP_BOUND_INACTIVE (reported in state CLOSE).
                    let states: UInt32 = proto == .tcp ? SocketState.listen.mask | SocketState.boundInactive.mask : UInt32.max
                    for family in AddressFamily.allCases {
                        all += try client.dump(proto: proto, family: family, states: states, localPorts: [port])
                    }
                }
            } catch { return .failure(error) }
            return .success(all)
        }
        switch dumped {
        case .success(let records):
            return records.filter { $0.localPort == port && ($0.proto == .udp || $0.isListening || $0.state == .close) }
        case .failure(let error): throw CloseError("cannot list the namespace's sockets: \(error)")
        }
    }

    func verify(_ plan: ClosePlan, outcomes: [CloseStepOutcome]) -> CloseVerification {
        let port = plan.facts.port
        let protos = plan.protocols
        switch plan.method {
        case .firewall: return verifyFiltered(plan)
        case .destroy: return verifyReset(plan)
        default: break
        }
        let deadline = Sys.monotonicMilliseconds() + settleMilliseconds
        while true {
            let bound: [SocketRecord]
            do { bound = try boundSockets(protos, port: port) } catch {
                return CloseVerification(status: .stillOpen, detail: "could not check: \(error)")
            }
            let refusal: Errno? =
                bound.isEmpty
                ? ((try? namespace.run { protos.lazy.compactMap { Sys.bindRefusal(proto: $0, port: port) }.first }) ?? nil) : nil
            if bound.isEmpty && refusal == nil {
                return CloseVerification(
                    status: .free,
                    detail: "no socket of namespace \(namespace.label) is bound to \(plan.facts.target), and a new one can bind it")
            }
            if Sys.monotonicMilliseconds() >= deadline {
                if !bound.isEmpty {
                    let inodes = Set(bound.map(\.inode))
                    let held = stillHeldBy(inodes)
                    return CloseVerification(
                        status: .stillOpen,
                        detail: "still bound: " + bound.map { CloseSocket(record: $0, holders: []).summary }.joined(separator: ", "),
                        stillHeldBy: held)
                }
                return CloseVerification(
                    status: .stillOpen,
                    detail: "no socket is listed on \(plan.facts.target), yet binding it fails (\(refusal.map { "\($0)" } ?? "?")): "
                        + "a socket destroyed while listening keeps its port, or one hidden from sock_diag holds it; run `portcullis hidden`"
                )
            }
            Sys.sleep(milliseconds: 20)
        }
    }

    /// The processes holding any of `inodes` now.
    func stillHeldBy(_ inodes: Set<UInt64>) -> [CloseProcess] {
        guard let procfs = try? ProcFS(), let pids = try? procfs.listedPIDs() else { return [] }
        var held: [CloseProcess] = []
        for pid in pids {
            guard let process = try? procfs.process(pid) else { continue }
            var mine: [UInt64] = []
            try? process.forEachSocket { _, inode in if inodes.contains(inode) { mine.append(inode) } }
            guard !mine.isEmpty, let stat = (try? process.read("stat")).flatMap(ProcessFiles.parseStat) else { continue }
            let cmdline = (try? process.read("cmdline", sizeHint: 4096)).map(ProcessFiles.commandLine) ?? ""
            held.append(
                CloseProcess(pid: pid, ppid: stat.ppid, name: stat.name, cmdline: cmdline, startTicks: stat.startTicks, inodes: mine))
        }
        return held
    }

    func verifyFiltered(_ plan: ClosePlan) -> CloseVerification {
        let port = plan.facts.port
        let listing: String
        do { listing = try nft(["list", "table", "inet", Self.table]) } catch {
            return CloseVerification(status: .stillOpen, detail: "cannot list table inet \(Self.table): \(error)")
        }
        guard listing.contains("dport \(port)") && listing.contains("drop") else {
            return CloseVerification(status: .stillOpen, detail: "the drop rule for port \(port) is not in table inet \(Self.table)")
        }
        guard plan.protocols.contains(.tcp) else {
            return CloseVerification(
                status: .filtered, detail: "the drop rules are in place (UDP has no handshake to confirm it by; none was tried)")
        }
        // A connect from inside the namespace meets the output chain's rule, as a local client would.
        let address =
            plan.facts.sockets.first { $0.record.proto == .tcp && $0.record.isListening && !$0.record.localAddress.isUnspecified }?
            .record.localAddress ?? IPAddress(v4: 127, 0, 0, 1)
        let endpoint = InetEndpoint(address, port: port)
        let outcome = (try? namespace.run { Sys.connectOutcome(endpoint, milliseconds: 300) }) ?? .failed(Errno(5))
        switch outcome {
        case .timedOut:
            return CloseVerification(
                status: .filtered,
                detail: "the drop rules are in place; a TCP connect to \(address.endpointText(port: port)) got no answer in 300 ms")
        case .open:
            return CloseVerification(
                status: .stillOpen, detail: "a TCP connect to \(address.endpointText(port: port)) still completes despite the drop rules")
        case .refused:
            return CloseVerification(
                status: .stillOpen, detail: "a TCP connect to \(address.endpointText(port: port)) was refused, so the rules did not drop it"
            )
        case .failed(let error):
            return CloseVerification(status: .filtered, detail: "the drop rules are in place; a test connect failed with \(error)")
        }
    }
}

extension IPAddress {
    /// 0.0.0.0 or ::.
    var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }
}
