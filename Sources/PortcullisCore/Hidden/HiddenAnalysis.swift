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
        if let netlink = tables.netlink, let procNet = tables.procNet {
            for key in netlink.comparable.subtracting(procNet.listed).sorted() {
                found.append(.port(key, .procNetHook))
                flagged.insert(key)
            }
            for key in procNet.listed.subtracting(netlink.listed).sorted() {
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
        return found
    }

    /// Whether some table lists a socket that makes a bind of `key` fail.
    static func explained(_ key: PortKey, by tables: TableSnapshot) -> Bool {
        (tables.netlink?.covers(key) ?? false) || (tables.procNet?.covers(key) ?? false)
    }

    /// Whether a candidate still holds given fresh tables and probe results.
    static func persists(_ candidate: HiddenCandidate, tables: TableSnapshot, evidence: ProbeEvidence?, stillHeld: [Int32]) -> Bool {
        switch candidate {
        case let .port(key, technique):
            switch technique {
            case .procNetHook:
                guard let netlink = tables.netlink, let procNet = tables.procNet else { return false }
                return netlink.comparable.contains(key) && !procNet.listed.contains(key)
            case .inetDiagHook:
                guard let netlink = tables.netlink, let procNet = tables.procNet else { return false }
                return procNet.listed.contains(key) && !netlink.listed.contains(key)
            case .hiddenFromAllReaders, .inodeInNoTable:
                let inUse = evidence?.bind == .inUse || evidence?.connect == .accepted
                return inUse && !explained(key, by: tables)
            }
        case let .inode(inode, _):
            return !stillHeld.isEmpty && !tables.knows(inode: inode)
        }
    }
}

/// Confirms candidates by looking again: each round dumps the tables,
/// probes each remaining candidate, and dumps again; a socket present in
/// either dump explains the probe. A candidate must hold in every round,
/// so short-lived sockets, TIME_WAIT and churn between views never become
/// findings. The I/O is injected so tests can script the host.
public struct HiddenVerifier {
    public var rounds: Int
    /// Dumps every table again.
    public var dump: () throws -> TableSnapshot
    /// Probes one port again (bind, and connect for TCP).
    public var probe: (PortKey) -> ProbeEvidence
    /// Which of `pids` still hold `inode`.
    public var holders: (UInt64, [Int32]) -> [Int32]
    /// Waits between rounds, so a socket in transition can settle.
    public var pause: () -> Void

    public init(rounds: Int = 3, dump: @escaping () throws -> TableSnapshot, probe: @escaping (PortKey) -> ProbeEvidence,
                holders: @escaping (UInt64, [Int32]) -> [Int32], pause: @escaping () -> Void) {
        self.rounds = max(1, rounds)
        self.dump = dump
        self.probe = probe
        self.holders = holders
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
            for candidate in remaining {
                switch candidate {
                case let .port(key, _): evidence[key] = probe(key)
                case let .inode(inode, pids): holding[inode] = holders(inode, pids)
                }
            }
            let tables = before.union(try dump())
            remaining = remaining.filter { candidate in
                switch candidate {
                case let .port(key, _):
                    return HiddenAnalysis.persists(candidate, tables: tables, evidence: evidence[key], stillHeld: [])
                case let .inode(inode, _):
                    return HiddenAnalysis.persists(candidate, tables: tables, evidence: nil, stillHeld: holding[inode] ?? [])
                }
            }
            lastTables = tables
            lastEvidence = evidence
            lastHolders = holding
        }
        return remaining.map { finding($0, tables: lastTables, evidence: lastEvidence, holders: lastHolders, held: held) }
    }

    func finding(_ candidate: HiddenCandidate, tables: TableSnapshot, evidence: [PortKey: ProbeEvidence],
                 holders: [UInt64: [Int32]], held: HeldSockets) -> HiddenFinding {
        switch candidate {
        case let .inode(inode, pids):
            let owners = holders[inode] ?? pids
            let who = owners.count == 1 ? "pid \(owners[0])" : "pids \(owners.map(String.init).joined(separator: ", "))"
            return HiddenFinding(
                technique: .inodeInNoTable, key: nil, inode: inode, seenBy: [.fdWalk],
                notSeenBy: [.netlink, .procNet].filter { tables.view($0) != nil }, ownerPIDs: owners, alarm: false,
                explanation: "socket inode \(inode) held by \(who) but in no table: a hidden socket, or one of a family with no table (AF_VSOCK, AF_ALG, MPTCP)")
        case let .port(key, technique):
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
            for view in [HiddenView.netlink, .procNet] { inodes.formUnion(tables.view(view)?.inodesByKey[key] ?? []) }
            let owners = Set(inodes.flatMap { held.byInode[$0] ?? [] }).sorted()
            if !owners.isEmpty { seen.append(.fdWalk) }
            return HiddenFinding(technique: technique, key: key, inode: nil, seenBy: seen, notSeenBy: unseen,
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
                return "in use per \(which); absent from netlink and /proc/net: hidden from every userland socket reader, consistent with a kernel-level rootkit"
            }
            return "in use per \(which); absent from \(list(tables)) (the other table could not be read): hidden from the socket tables"
        case .procNetHook:
            return "absent from /proc/net only: a /proc hook (ss would still show it)"
        case .inetDiagHook:
            return "absent from netlink only: an inet_diag hook (netstat would still show it)"
        case .inodeInNoTable:
            return "socket inode held by a process but in no table"
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
