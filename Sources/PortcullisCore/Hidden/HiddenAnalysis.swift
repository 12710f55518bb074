/// The cross-view comparison and its re-verification.
public enum HiddenAnalysis {
    /// Discrepancies between the views, each a candidate to re-verify:
    /// - a key listed by exactly one of the two tables (compared per family
    ///   as listed, so V6ONLY knowledge that only netlink has cannot differ);
    /// - a key the bind probe found in use that no table explains;
    /// - a socket inode a process holds that no table lists.
    public static func candidates(_ views: HiddenViews) -> [HiddenCandidate] {
        let tables = views.tables
        var found: [HiddenCandidate] = []
        var flagged = Set<PortKey>()
        if let netlink = views.comparison.netlink, let procNet = views.comparison.procNet {
            for key in netlink.comparable.subtracting(procNet.listed).sorted() {
                found.append(.port(key, .procNetHook))
                flagged.insert(key)
            }
            for key in procNet.comparable.subtracting(netlink.listed).sorted() {
                found.append(.port(key, .inetDiagHook))
                flagged.insert(key)
            }
        }
        if tables.netlink != nil || tables.procNet != nil {
            for key in views.bind.inUse where !flagged.contains(key) && !explained(key, by: tables) {
                found.append(.port(key, .hiddenFromAllReaders))
            }
            for (inode, pids) in views.held.byInode.sorted(by: { $0.key < $1.key }) where !tables.knows(inode: inode) {
                found.append(.inode(inode, pids: pids.sorted()))
            }
        }
        for (pid, description) in views.unlisted.sorted(by: { $0.key < $1.key }) {
            found.append(.process(pid, description: description))
        }
        return found
    }

    /// Whether some table lists a socket that makes a bind of `key` fail.
    static func explained(_ key: PortKey, by tables: TableSnapshot) -> Bool {
        (tables.netlink?.covers(key) ?? false) || (tables.procNet?.covers(key) ?? false)
    }

    /// Whether a candidate still holds given fresh tables and probe results.
    static func persists(
        _ candidate: HiddenCandidate, tables: TableSnapshot, evidence: ProbeEvidence?, stillHeld: [Int32],
        stillUnlisted: Bool = false
    ) -> Bool {
        switch candidate {
        case .process:
            return stillUnlisted
        case .port(let key, let technique):
            switch technique {
            case .procNetHook:
                guard let netlink = tables.netlink, let procNet = tables.procNet else { return false }
                return netlink.comparable.contains(key) && !procNet.listed.contains(key)
            case .inetDiagHook:
                guard let netlink = tables.netlink, let procNet = tables.procNet else { return false }
                return procNet.comparable.contains(key) && !netlink.listed.contains(key)
            case .hiddenFromAllReaders, .inodeInNoTable, .processHiddenFromListing, .libcHook:
                let inUse = evidence?.bind == .inUse || evidence?.connect == .accepted
                return inUse && !explained(key, by: tables)
            }
        case .inode(let inode, _):
            return !stillHeld.isEmpty && !tables.knows(inode: inode)
        }
    }
}

extension HiddenAnalysis {
    /// Joins what the sockets said about themselves (`identities`, per inode,
    /// asked through a duplicate of a holder's descriptor) with the findings:
    /// - an inode that is a bound TCP/UDP socket gives its holders to the port
    ///   findings of that port (the owner of a port hidden from every table),
    ///   and is folded into them;
    /// - such an inode with no port finding (its port was not probed, or the
    ///   probe could not tell) becomes a hidden-port finding of its own when
    ///   an honest kernel would list it;
    /// - any other inode stays a notice, now saying what kind of socket it is.
    /// Findings whose owners include a pid hidden from the /proc listing say so.
    public static func attribute(_ findings: [HiddenFinding], identities: [UInt64: SocketIdentity]) -> [HiddenFinding] {
        var result = findings
        var folded = Set<Int>()
        for (index, finding) in findings.enumerated() {
            guard finding.technique == .inodeInNoTable, let inode = finding.inode, let identity = identities[inode] else { continue }
            let pids = finding.ownerPIDs.isEmpty ? [identity.pid] : finding.ownerPIDs
            let who = pids.count == 1 ? "pid \(pids[0])" : "pids \(pids.map(String.init).joined(separator: ", "))"
            guard let key = identity.key else {
                result[index].explanation =
                    "\(identity.kind) (inode \(inode)) held by \(who): "
                    + (identity.socketDomain.isInet && identity.localPort == 0
                        ? "unbound, and no table lists a socket before it is bound" : "no table lists this kind of socket")
                continue
            }
            // IPv6 sockets that are not V6ONLY also hold the IPv4 port.
            let matching = findings.indices.filter { other in
                guard let otherKey = findings[other].key, findings[other].alarm else { return false }
                return otherKey.proto == key.proto && otherKey.port == key.port
                    && (otherKey.family == key.family || key.family == .ipv6)
            }
            if !matching.isEmpty {
                for other in matching {
                    result[other].ownerPIDs = Array(Set(result[other].ownerPIDs + pids)).sorted()
                    if !result[other].seenBy.contains(.fdWalk) { result[other].seenBy.append(.fdWalk) }
                    result[other].notSeenBy.removeAll { $0 == .fdWalk }
                    if result[other].inode == nil { result[other].inode = inode }
                    result[other].explanation += "; held by \(who) (socket inode \(inode), found through its descriptor)"
                }
                folded.insert(index)
            } else if identity.belongsInTables {
                result[index] = HiddenFinding(
                    technique: .hiddenFromAllReaders, key: key, inode: inode, seenBy: [.fdWalk], notSeenBy: finding.notSeenBy,
                    ownerPIDs: pids, alarm: true,
                    explanation:
                        "\(identity.kind) bound to port \(key.port) held by \(who) (found through its descriptor), absent from \(finding.notSeenBy.map(\.label).joined(separator: " and ")): hidden from the socket tables"
                )
            } else {
                let state = identity.tcpState.map { " in state \($0.name(for: .tcp))" } ?? ""
                result[index].explanation =
                    "\(identity.kind)\(state) (inode \(inode), port \(key.port)) held by \(who): closed or never listening, so no table lists it"
            }
        }
        let hiddenPIDs = Set(findings.filter { $0.technique == .processHiddenFromListing }.flatMap(\.ownerPIDs))
        var out: [HiddenFinding] = []
        for (index, var finding) in result.enumerated() where !folded.contains(index) {
            if finding.technique != .processHiddenFromListing {
                let hidden = finding.ownerPIDs.filter(hiddenPIDs.contains)
                if !hidden.isEmpty {
                    finding.explanation +=
                        "; owner \(hidden.map(String.init).joined(separator: ", ")) is itself hidden from the /proc listing"
                }
            }
            out.append(finding)
        }
        return out
    }
}

extension HiddenAnalysis {
    /// A port hidden from both tables whose row a raw read of /proc/net still
    /// shows was hidden in userland, not in the kernel: say so. Runs before
    /// `attribute`, which adds the owner to the explanation.
    public static func blameLibc(_ findings: [HiddenFinding], differences: [TamperHint.LibcDifference]) -> [HiddenFinding] {
        var missing = Set<PortKey>()
        for difference in differences {
            for port in difference.missingPorts { missing.insert(PortKey(difference.proto, difference.family, port)) }
        }
        return findings.map { finding in
            guard finding.technique == .hiddenFromAllReaders, let key = finding.key, missing.contains(key) else { return finding }
            var blamed = finding
            blamed.technique = .libcHook
            blamed.explanation = HiddenVerifier.explain(.libcHook, seen: finding.seenBy, unseen: finding.notSeenBy)
            return blamed
        }
    }
}

/// Confirms candidates by looking again: each round dumps the tables,
/// probes each remaining candidate, and dumps again; a socket present in
/// either dump explains the probe. A candidate must hold in every round,
/// so short-lived sockets, TIME_WAIT and churn between views never become
/// findings. The I/O is injected so tests can script the host.
public struct HiddenVerifier {
    /// Rounds every candidate must survive to become a finding; at least 1 (`init` clamps it).
    public var rounds: Int
    /// Dumps every table again.
    public var dump: () throws -> TableSnapshot
    /// Probes one port again (bind, and connect for TCP).
    public var probe: (PortKey) -> ProbeEvidence
    /// Which of `pids` still hold `inode`.
    public var holders: (UInt64, [Int32]) -> [Int32]
    /// Which of these pids still exist while the /proc listing still omits
    /// them (one listing per round, however many there are).
    public var unlisted: (Set<Int32>) -> Set<Int32>
    /// Waits between rounds, so a socket in transition can settle.
    public var pause: () -> Void

    /// A verifier with the host's I/O injected; `unlisted` defaults to reporting no pid still hidden.
    public init(
        rounds: Int = 3, dump: @escaping () throws -> TableSnapshot, probe: @escaping (PortKey) -> ProbeEvidence,
        holders: @escaping (UInt64, [Int32]) -> [Int32], unlisted: @escaping (Set<Int32>) -> Set<Int32> = { _ in [] },
        pause: @escaping () -> Void
    ) {
        self.rounds = max(1, rounds)
        self.dump = dump
        self.probe = probe
        self.holders = holders
        self.unlisted = unlisted
        self.pause = pause
    }

    /// The candidates that persisted through every round, as findings.
    /// `held` (from the first pass) gives the owners of listed sockets.
    public func verify(_ candidates: [HiddenCandidate], held: HeldSockets) throws -> [HiddenFinding] {
        var remaining = candidates
        var lastTables = TableSnapshot(netlink: nil, procNet: nil)
        var lastEvidence: [PortKey: ProbeEvidence] = [:]
        var lastHolders: [UInt64: [Int32]] = [:]
        for _ in 0..<rounds where !remaining.isEmpty {
            pause()
            let before = try dump()
            var evidence: [PortKey: ProbeEvidence] = [:]
            var holding: [UInt64: [Int32]] = [:]
            var hiddenPIDs = Set<Int32>()
            for candidate in remaining {
                switch candidate {
                case .port(let key, _): evidence[key] = probe(key)
                case .inode(let inode, let pids): holding[inode] = holders(inode, pids)
                case .process(let pid, _): hiddenPIDs.insert(pid)
                }
            }
            let stillUnlisted = hiddenPIDs.isEmpty ? [] : unlisted(hiddenPIDs)
            let tables = before.union(try dump())
            remaining = remaining.filter { candidate in
                switch candidate {
                case .port(let key, _):
                    return HiddenAnalysis.persists(candidate, tables: tables, evidence: evidence[key], stillHeld: [])
                case .inode(let inode, _):
                    return HiddenAnalysis.persists(candidate, tables: tables, evidence: nil, stillHeld: holding[inode] ?? [])
                case .process(let pid, _):
                    return HiddenAnalysis.persists(
                        candidate, tables: tables, evidence: nil, stillHeld: [],
                        stillUnlisted: stillUnlisted.contains(pid))
                }
            }
            lastTables = tables
            lastEvidence = evidence
            lastHolders = holding
        }
        return remaining.map { finding($0, tables: lastTables, evidence: lastEvidence, holders: lastHolders, held: held) }
    }

    func finding(
        _ candidate: HiddenCandidate, tables: TableSnapshot, evidence: [PortKey: ProbeEvidence],
        holders: [UInt64: [Int32]], held: HeldSockets
    ) -> HiddenFinding {
        switch candidate {
        case .process(let pid, let description):
            return HiddenFinding(
                technique: .processHiddenFromListing, key: nil, inode: nil, seenBy: [], notSeenBy: [], ownerPIDs: [pid],
                alarm: true,
                explanation: "pid \(pid) (\(description)) exists but is missing from the /proc directory listing: a process-hiding rootkit")
        case .inode(let inode, let pids):
            let owners = holders[inode] ?? pids
            let who = owners.count == 1 ? "pid \(owners[0])" : "pids \(owners.map(String.init).joined(separator: ", "))"
            return HiddenFinding(
                technique: .inodeInNoTable, key: nil, inode: inode, seenBy: [.fdWalk],
                notSeenBy: [.netlink, .procNet].filter { tables.view($0) != nil }, ownerPIDs: owners, alarm: false,
                explanation:
                    "socket inode \(inode) held by \(who) but in no table: a hidden socket, or one of a family with no table (AF_VSOCK, AF_ALG, MPTCP)"
            )
        case .port(let key, let technique):
            let probe = evidence[key] ?? ProbeEvidence(bind: .notProbed("not re-probed"))
            var seen: [HiddenView] = []
            var unseen: [HiddenView] = []
            for view in [HiddenView.netlink, .procNet] {
                guard let table = tables.view(view) else { continue }
                if table.covers(key) { seen.append(view) } else { unseen.append(view) }
            }
            if probe.bind == .inUse { seen.append(.bindProbe) } else if probe.bind == .free { unseen.append(.bindProbe) }
            switch probe.connect {
            case .accepted: seen.append(.connectProbe)
            case .refused, .timedOut: unseen.append(.connectProbe)
            case .failed, .notProbed: break
            }
            // Owners: the inodes of whichever table still lists the socket.
            var inodes = Set<UInt64>()
            for view in [HiddenView.netlink, .procNet] { inodes.formUnion(tables.view(view)?.inodes(of: key) ?? []) }
            let owners = Set(inodes.flatMap { held.byInode[$0] ?? [] }).sorted()
            if !owners.isEmpty { seen.append(.fdWalk) }
            return HiddenFinding(
                technique: technique, key: key, inode: nil, seenBy: seen, notSeenBy: unseen,
                ownerPIDs: owners, alarm: true, explanation: Self.explain(technique, seen: seen, unseen: unseen))
        }
    }

    /// The finding in words: which views saw it, which did not, and what that suggests.
    static func explain(_ technique: HiddenTechnique, seen: [HiddenView], unseen: [HiddenView]) -> String {
        func list(_ views: [HiddenView]) -> String {
            let labels = views.map(\.label)
            guard labels.count > 1, let last = labels.last else { return labels.first ?? "" }
            return labels.dropLast().joined(separator: ", ") + " and " + last
        }
        switch technique {
        case .hiddenFromAllReaders:
            let probes = seen.filter { $0 == .bindProbe || $0 == .connectProbe }
            let which = probes.count == 2 ? "bind and connect probes" : probes.first.map { $0.label } ?? "probes"
            let tables = unseen.filter { $0 == .netlink || $0 == .procNet }
            if tables.count == 2 {
                return
                    "in use per \(which); absent from netlink and /proc/net: hidden from every userland socket reader, consistent with a kernel-level rootkit"
            }
            return "in use per \(which); absent from \(list(tables)) (the other table could not be read): hidden from the socket tables"
        case .procNetHook:
            return "absent from /proc/net only: a /proc hook (ss would still show it)"
        case .inetDiagHook:
            return "absent from netlink only: an inet_diag hook (netstat would still show it)"
        case .inodeInNoTable:
            return "socket inode held by a process but in no table"
        case .processHiddenFromListing:
            return "process missing from the /proc listing"
        case .libcHook:
            return
                "absent from the tables as read through libc, listed when /proc/net is read with raw system calls: a library interposing libc (LD_PRELOAD) hides it from dynamically linked programs"
        }
    }
}

extension TableSnapshot {
    func view(_ view: HiddenView) -> TableView? {
        switch view {
        case .netlink: return netlink
        case .procNet: return procNet
        default: return nil
        }
    }
}
