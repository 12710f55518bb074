import PortcullisCore

/// Why the hidden-port check could not run at all (exit 3). Views that
/// fail one by one are diagnostics instead, and the check uses the rest.
public struct HiddenCheckError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `portcullis hidden`: gathers the views, compares them, re-verifies the
/// discrepancies and returns what persisted.
///
/// First pass: dump the tables (netlink sock_diag in every state, and
/// /proc/net), walk every process's fds, bind-probe every port, dump the
/// tables again. A socket in either dump explains a probe, so a socket that
/// came or went during the sweep is not a candidate. Candidates then go
/// through `rounds` re-verification rounds (see `HiddenVerifier`).
public enum HiddenPortCheck {
    public struct Options: Sendable {
        public var procRoot = "/proc"
        public var rounds = 3
        /// Pause before each re-verification round.
        public var pauseMilliseconds = 200
        /// Probe threads; nil = online CPUs.
        public var parallelism: Int?
        public var protocols: [TransportProtocol] = [.tcp, .udp]
        public var families: [AddressFamily] = AddressFamily.allCases
        public var ports: ClosedRange<UInt16> = 1...65535
        /// Short progress lines ("bind probes 40%"), for a terminal.
        public var progress: (@Sendable (String) -> Void)?
        public init() {}
    }

    public static func run(_ options: Options = Options()) throws(HiddenCheckError) -> HiddenReport {
        let started = Sys.monotonicMilliseconds()
        let procfs: ProcFS
        do { procfs = try ProcFS(root: options.procRoot) } catch {
            throw HiddenCheckError("cannot open \(options.procRoot): \(error)")
        }
        let ownNetns = procfs.ownNamespace("net")
        var diagnostics: [Diagnostic] = []
        let progress = options.progress

        progress?("reading socket tables")
        let before = dumpTables(procfs, options, &diagnostics)
        guard before.netlink != nil || before.procNet != nil else {
            reportOnce(&diagnostics)
            throw HiddenCheckError("neither netlink sock_diag nor \(options.procRoot)/net could be read: " +
                                   diagnostics.map(\.message).joined(separator: "; "))
        }
        progress?("walking process descriptors")
        let held = heldSockets(procfs, options, &diagnostics)
        var sweepProgress: (@Sendable (Int, Int) -> Void)?
        if let progress {
            sweepProgress = { done, total in
                if done % max(1, total / 20) == 0 || done == total { progress("bind probes \(done * 100 / max(1, total))%") }
            }
        }
        let (sweep, sweepDiagnostics) = BindProber.sweep(
            protocols: options.protocols, families: options.families, ports: options.ports,
            parallelism: options.parallelism, progress: sweepProgress)
        diagnostics += sweepDiagnostics
        var tables = before.union(dumpTables(procfs, options, &diagnostics))

        // Sockets of processes in another network namespace are in that
        // namespace's tables, read through one of its processes.
        var views = HiddenViews(tables: tables, bind: sweep, held: held)
        let foreign = foreignNamespaceReaders(HiddenAnalysis.candidates(views), procfs: procfs, own: ownNetns)
        if !foreign.isEmpty {
            tables.otherInodes.formUnion(foreignInodes(procfs, foreign))
            views.tables = tables
        }
        let candidates = HiddenAnalysis.candidates(views)

        progress?(candidates.isEmpty ? "no candidates" : "re-verifying \(candidates.count) candidate\(candidates.count == 1 ? "" : "s")")
        // Views failing during re-verification are reported too (once each).
        let verification = DiagnosticBox()
        let verifier = HiddenVerifier(
            rounds: options.rounds,
            dump: {
                var snapshot = dumpTables(procfs, options, &verification.diagnostics)
                snapshot.otherInodes.formUnion(foreignInodes(procfs, foreign))
                return snapshot
            },
            probe: { key in
                let bind = BindProber.probe(key)
                return ProbeEvidence(bind: bind, connect: key.proto == .tcp && bind == .inUse ? ConnectProber.probe(key) : .notProbed)
            },
            holders: { inode, pids in pids.filter { pid in holds(procfs, pid: pid, inode: inode) } },
            pause: { Sys.sleep(milliseconds: options.pauseMilliseconds) })
        let findings: [HiddenFinding]
        do { findings = try verifier.verify(candidates, held: held) } catch {
            throw HiddenCheckError("re-verification failed: \(error)")
        }
        diagnostics += verification.diagnostics
        reportOnce(&diagnostics)
        return HiddenReport(
            findings: findings, diagnostics: diagnostics,
            sweeps: HiddenReport.sweeps(of: sweep, portCount: options.ports.count),
            candidates: candidates.count, rounds: options.rounds,
            durationMilliseconds: Sys.monotonicMilliseconds() - started)
    }

    final class DiagnosticBox { var diagnostics: [Diagnostic] = [] }

    /// Drops repeated diagnostics, keeping the first of each.
    static func reportOnce(_ diagnostics: inout [Diagnostic]) {
        var seen = Set<Diagnostic>()
        diagnostics = diagnostics.filter { seen.insert($0).inserted }
    }

    /// Every table at this moment. A view that fails is nil plus a diagnostic.
    static func dumpTables(_ procfs: ProcFS, _ options: Options, _ diagnostics: inout [Diagnostic]) -> TableSnapshot {
        let query = SocketQuery(protocols: Set(options.protocols), families: Set(options.families), listeningOnly: false)
        var netlink: TableView?
        var client = SockDiagClient()
        do { netlink = TableView(records: try client.dump(query)) } catch {
            diagnostics.append(Diagnostic(.warning, "netlink view unavailable: \(error)"))
        }
        var procNet: TableView? = TableView()
        for proto in options.protocols where proto != .raw {
            for family in options.families {
                do {
                    let parsed = try procfs.socketTable(proto, family)
                    diagnostics += parsed.diagnostics
                    for record in parsed.records { procNet?.add(record) }
                } catch {
                    if error == .noSuchFile && family == .ipv6 { continue }  // IPv6 disabled: no such sockets either
                    let name = "net/" + proto.rawValue + (family == .ipv6 ? "6" : "")
                    diagnostics.append(Diagnostic(.warning, "/proc/net view unavailable: cannot read \(procfs.root)/\(name): \(error)"))
                    procNet = nil
                }
            }
        }
        return TableSnapshot(netlink: netlink, procNet: procNet, otherInodes: otherTableInodes(procfs, prefix: ""))
    }

    /// Inodes of the non-TCP/UDP tables (missing files simply add nothing).
    static func otherTableInodes(_ procfs: ProcFS, prefix: String) -> Set<UInt64> {
        var inodes = Set<UInt64>()
        for name in ["unix", "netlink", "packet"] {
            if let bytes = try? procfs.read(prefix + "net/" + name, sizeHint: 65536) {
                inodes.formUnion(HiddenTableInodes.inodes(headedTable: bytes))
            }
        }
        for name in ["raw", "raw6", "icmp", "icmp6", "udplite", "udplite6"] {
            if let bytes = try? procfs.read(prefix + "net/" + name, sizeHint: 16384) {
                let parsed = ProcNetParser.parse(bytes, proto: .raw, family: name.hasSuffix("6") ? .ipv6 : .ipv4, name: name)
                for record in parsed.records where record.inode != 0 { inodes.insert(record.inode) }
            }
        }
        return inodes
    }

    /// Every inet table of the namespaces that `pids` are in, via /proc/PID/net.
    static func foreignInodes(_ procfs: ProcFS, _ pids: [Int32]) -> Set<UInt64> {
        var inodes = Set<UInt64>()
        for pid in pids {
            let prefix = "\(pid)/"
            for proto in [TransportProtocol.tcp, .udp] {
                for family in AddressFamily.allCases {
                    guard let parsed = try? procfs.socketTable(proto, family, prefix: prefix) else { continue }
                    for record in parsed.records where record.inode != 0 { inodes.insert(record.inode) }
                }
            }
            inodes.formUnion(otherTableInodes(procfs, prefix: prefix))
        }
        return inodes
    }

    /// One pid per foreign network namespace among the holders of unexplained inodes.
    static func foreignNamespaceReaders(_ candidates: [HiddenCandidate], procfs: ProcFS, own: UInt64?) -> [Int32] {
        var readers: [UInt64: Int32] = [:]
        for case let .inode(_, pids) in candidates {
            for pid in pids {
                guard let link = try? procfs.process(pid).readLink("ns/net"),
                      let netns = ProcessFiles.namespaceInode(link: link[...], kind: "net"), netns != own else { continue }
                if readers[netns] == nil { readers[netns] = pid }
            }
        }
        return readers.values.sorted()
    }

    /// Socket inodes per pid, from every process's fd table.
    static func heldSockets(_ procfs: ProcFS, _ options: Options, _ diagnostics: inout [Diagnostic]) -> HeldSockets {
        let resolver = OwnerResolver(procfs: procfs, parallelism: options.parallelism ?? Sys.hiddenOnlineProcessors())
        let holders: OwnerResolver.Holders
        do { holders = try resolver.holders() } catch {
            diagnostics.append(Diagnostic(.warning, "fd walk unavailable: cannot list \(procfs.root): \(error); owners and inodes in no table not checked"))
            return HeldSockets()
        }
        if !holders.deniedPIDs.isEmpty {
            let shown = holders.deniedPIDs.prefix(5).map(String.init).joined(separator: ", ") + (holders.deniedPIDs.count > 5 ? ", ..." : "")
            diagnostics.append(Diagnostic(.warning, "fd tables of \(holders.deniedPIDs.count) process\(holders.deniedPIDs.count == 1 ? "" : "es") (pid \(shown)) could not be read (permission denied); their sockets are not checked against the tables\(Sys.userID() == 0 ? "" : "; run as root")"))
        }
        var byInode: [UInt64: [Int32]] = [:]
        for (inode, holdings) in holders.byInode {
            byInode[inode] = Array(Set(holdings.map(\.pid))).sorted()
        }
        return HeldSockets(byInode: byInode)
    }

    static func holds(_ procfs: ProcFS, pid: Int32, inode: UInt64) -> Bool {
        guard let process = try? procfs.process(pid) else { return false }
        var found = false
        try? process.forEachSocket { _, held in if held == inode { found = true } }
        return found
    }
}
