import Dispatch
import PortcullisCore

/// Why the hidden-port check could not run at all (exit 3). Views that
/// fail one by one are diagnostics instead, and the check uses the rest.
public struct HiddenCheckError: Error, Sendable, CustomStringConvertible {
    /// Why the check could not run, for the error message.
    public var description: String
    /// Wraps the reason, e.g. "cannot open /proc: ...".
    public init(_ description: String) { self.description = description }
}

/// `portcullis hidden`: gathers the views, compares them, re-verifies the
/// discrepancies and returns what persisted.
///
/// First pass: dump the tables (netlink sock_diag in every state, and
/// /proc/net), walk every process's fds, bind-probe every port, and when
/// something is unexplained dump the tables again. A socket in either dump
/// explains a probe, so a socket that came or went during the sweep is not
/// a candidate. Candidates then go through `rounds` re-verification rounds
/// (see `HiddenVerifier`).
public enum HiddenPortCheck {
    /// What `run` checks, and how.
    public struct Options: Sendable {
        /// The procfs to read (tables, fd walk); the probes themselves always act on this host's network namespace.
        public var procRoot = "/proc"
        /// Re-verification rounds each candidate must survive to be reported (at least 1).
        public var rounds = 3
        /// Pause before each re-verification round.
        public var pauseMilliseconds = 200
        /// Probe threads; nil = online CPUs.
        public var parallelism: Int?
        /// Protocols whose tables are read and ports bind-probed; `.raw` has no ports and is not probed.
        public var protocols: [TransportProtocol] = [.tcp, .udp]
        /// Address families whose tables are read and probed (an IPv4 and an IPv6 socket each).
        public var families: [AddressFamily] = AddressFamily.allCases
        /// The ports the bind sweep probes, per protocol and family; the default is every port.
        public var ports: ClosedRange<UInt16> = 1...65535
        /// Short progress lines ("bind probes 40%"), for a terminal.
        public var progress: (@Sendable (String) -> Void)?
        /// Check only the ports of the network namespace the calling thread
        /// is in (`HiddenPortCheck.runInside`): its tables (through
        /// /proc/thread-self/net) against probes made there. The host-wide
        /// parts (fd walk, pid sweep, tamper hints) are left to the host's run.
        public var namespaceOnly = false
        /// Where the calling thread's own network namespace's /proc/net tables are.
        var tablePrefix: String { namespaceOnly ? "thread-self/" : "" }
        /// The defaults: /proc, 3 rounds 200 ms apart, TCP and UDP, both families, ports 1-65535.
        public init() {}
    }

    /// Runs the whole check: the views, the candidates and their re-verification, and the report of what
    /// persisted. Throws only when no socket table at all can be read or re-verification fails.
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
        // Probe sockets would show in the tables of their own protocol, so
        // each protocol's tables are read before its ports are probed. UDP
        // (and every protocol but TCP) now; TCP on the first sweep thread
        // while the others probe UDP, which the sweep does first: a TCP
        // table never lists a UDP probe socket, and no TCP port is probed
        // before the TCP dump is done. /proc/net/tcp can even be read while
        // TCP is probed: it never lists a socket that is only bound, which
        // is all a probe socket is.
        let early = options.protocols.filter { $0 != .tcp }
        var before = dumpTables(procfs, options, &diagnostics, protocols: early)
        let earlyNetlink = before.netlink
        let earlyProcNet = before.procNet
        guard earlyNetlink != nil || earlyProcNet != nil else {
            reportOnce(&diagnostics)
            throw HiddenCheckError(
                "neither netlink sock_diag nor \(options.procRoot)/net could be read: " + diagnostics.map(\.message).joined(separator: "; ")
            )
        }
        // What the sweep's threads read beside the probes.
        struct Alongside: Sendable {
            var tcpKnown: Set<PortKey>?  // nil until the TCP dump is done
            var tcpNetlink: TableView?
            var tcpProcNet: TableView?
            var holders = OwnerResolver.Holders()
            var unlistedPIDs: [Int32] = []
            var diagnostics: [Diagnostic] = []
        }
        let tcpOnly = options.protocols.filter { $0 == .tcp }
        let alongside = Locked(Alongside())
        /// The TCP ports the tables list, dumped once by whichever thread asks first.
        @Sendable func tcpKnown() -> Set<PortKey> {
            alongside.withLock { state in
                if let known = state.tcpKnown { return known }
                state.tcpNetlink = netlinkView(options, protocols: tcpOnly, &state.diagnostics)
                let known = knownPorts([state.tcpNetlink])
                state.tcpKnown = known
                return known
            }
        }
        progress?("walking process descriptors")
        var sweepProgress: (@Sendable (Int, Int) -> Void)?
        if let progress {
            sweepProgress = { done, total in
                if done % max(1, total / 20) == 0 || done == total { progress("bind probes \(done * 100 / max(1, total))%") }
            }
        }
        // The work beside the probes: the TCP tables, the fd walk of the
        // listed processes (not our own: the sweep opens and closes sockets
        // meanwhile) and, unless the task count proved the listing
        // complete, the pid sweep, in pieces any sweep thread can take.
        var besideProbes: [@Sendable () -> Void] = [
            {
                _ = tcpKnown()
                var readDiagnostics: [Diagnostic] = []
                let view = readProcNet(procfs, options, protocols: tcpOnly, &readDiagnostics)
                alongside.withLock {
                    $0.tcpProcNet = view
                    $0.diagnostics += readDiagnostics
                }
            }
        ]
        var pidsChecked = 0
        var tasksCounted = 0
        do {
            guard !options.namespaceOnly else { throw Errno.notPermitted }  // the host's run covers processes
            let (listed, countedTasks) = try listProcesses(procfs)
            let others = listed.filter { $0 != Sys.processID() }
            besideProbes.append {
                var walkDiagnostics: [Diagnostic] = []
                let holders = fdWalk(procfs, pids: others, &walkDiagnostics)
                alongside.withLock {
                    $0.holders.merge(holders)
                    $0.diagnostics += walkDiagnostics
                }
            }
            if let countedTasks {
                // The kernel's own count of tasks proves the listing complete:
                // no pid needs looking up (see TaskCensus).
                tasksCounted = countedTasks
            } else {
                let pidMax = pidMax(procfs, &diagnostics)
                let listedSet = PIDBitmap(listed, below: pidMax)
                pidsChecked = Int(pidMax)
                for low in stride(from: Int32(1), through: pidMax, by: 65_536) {
                    let range = low...min(pidMax, low &+ 65_535)
                    besideProbes.append {
                        let found = unlistedProcesses(procfs, listed: listedSet, in: range)
                        if !found.isEmpty { alongside.withLock { $0.unlistedPIDs += found } }
                    }
                }
            }
        } catch  where !options.namespaceOnly {
            diagnostics.append(
                Diagnostic(.warning, "cannot list \(procfs.root): \(error); owners, inodes in no table and hidden processes not checked"))
        } catch {}
        let earlyKnown = knownPorts([earlyNetlink, earlyProcNet])
        let (sweep, sweepDiagnostics) = BindProber.sweep(
            protocols: options.protocols, families: options.families, ports: options.ports,
            knownPorts: { proto in proto == .tcp ? tcpKnown() : earlyKnown },
            parallelism: options.parallelism, progress: sweepProgress, alongside: besideProbes)
        var beside = alongside.withLock { $0 }
        diagnostics += sweepDiagnostics + beside.diagnostics
        if let earlyNetlink, let tcp = beside.tcpNetlink { before.netlink = earlyNetlink.union(tcp) } else { before.netlink = nil }
        if let earlyProcNet, let tcp = beside.tcpProcNet { before.procNet = earlyProcNet.union(tcp) } else { before.procNet = nil }
        // Processes hidden from the listing: described, and their fds walked too.
        var unlisted: [Int32: String] = [:]
        for pid in beside.unlistedPIDs { unlisted[pid] = describe(procfs, pid) }
        if !unlisted.isEmpty { beside.holders.merge(fdWalk(procfs, pids: unlisted.keys.sorted(), &diagnostics)) }
        let holders = beside.holders
        let held = heldSockets(holders)
        var tables = before
        var views = HiddenViews(tables: tables, comparison: before, bind: sweep, held: held, unlisted: unlisted)
        var candidates = HiddenAnalysis.candidates(views)
        if !candidates.isEmpty {
            // What opened during the sweep and the walk is not in `before`:
            // netlink alone (when it works) tells, read now. More tables can
            // only explain more, so with nothing unexplained this is skipped.
            // The tables are still compared with each other as of `before`.
            tables = before.union(dumpTables(procfs, options, &diagnostics, procNet: before.netlink == nil))
            views.tables = tables
            candidates = HiddenAnalysis.candidates(views)
        }

        // A socket may live in any network namespace, whichever namespace
        // its holder is in now: every other namespace's tables are read too,
        // over netlink from inside it and through /proc/PID/net of a process
        // in it. Only when something is unexplained: most runs skip this.
        var foreign: [NamespaceDiscovery.Found] = []
        if candidates.contains(where: { if case .inode = $0 { true } else { false } }), options.procRoot == "/proc", !options.namespaceOnly
        {
            foreign = NamespaceDiscovery.discover(procfs: procfs).found.filter { $0.namespace.inode != ownNetns }
            tables.otherInodes.formUnion(foreignInodes(procfs, foreign, &diagnostics))
            views.tables = tables
            candidates = HiddenAnalysis.candidates(views)
        }

        progress?(candidates.isEmpty ? "no candidates" : "re-verifying \(candidates.count) candidate\(candidates.count == 1 ? "" : "s")")
        // Views failing during re-verification are reported too (once each).
        let verification = DiagnosticBox()
        let verifier = HiddenVerifier(
            rounds: options.rounds,
            dump: {
                var snapshot = dumpTables(procfs, options, &verification.diagnostics)
                snapshot.otherInodes.formUnion(foreignInodes(procfs, foreign, &verification.diagnostics))
                return snapshot
            },
            probe: { key in
                let bind = BindProber.probe(key)
                return ProbeEvidence(bind: bind, connect: key.proto == .tcp && bind == .inUse ? ConnectProber.probe(key) : .notProbed)
            },
            holders: { inode, pids in pids.filter { pid in holds(procfs, pid: pid, inode: inode) } },
            unlisted: { pids in unlistedStill(procfs, pids) },
            pause: { Sys.sleep(milliseconds: options.pauseMilliseconds) })
        var findings: [HiddenFinding]
        do { findings = try verifier.verify(candidates, held: held) } catch {
            throw HiddenCheckError("re-verification failed: \(error)")
        }
        diagnostics += verification.diagnostics
        let differences = options.namespaceOnly ? [] : libcDifferences(procfs, options)
        findings = HiddenAnalysis.blameLibc(findings, differences: differences)
        findings = HiddenAnalysis.attribute(findings, identities: identities(of: findings, holders, &diagnostics))

        let owners = findings.filter { $0.alarm && $0.key != nil }.flatMap(\.ownerPIDs)
        let hints =
            options.namespaceOnly
            ? []
            : TamperHint.hints(HostEvidence.tamper(procRoot: options.procRoot, etcRoot: "/", pids: owners), libcDifferences: differences)
        reportOnce(&diagnostics)
        return HiddenReport(
            findings: findings, diagnostics: diagnostics,
            sweeps: HiddenReport.sweeps(of: sweep, portCount: options.ports.count),
            candidates: candidates.count, rounds: options.rounds,
            durationMilliseconds: Sys.monotonicMilliseconds() - started, tamperHints: hints, pidsChecked: pidsChecked,
            tasksCounted: tasksCounted)
    }

    /// Asks each socket that no table lists for its own port, through a
    /// duplicate of a holder's descriptor (pidfd_getfd).
    static func identities(
        of findings: [HiddenFinding], _ holders: OwnerResolver.Holders,
        _ diagnostics: inout [Diagnostic]
    ) -> [UInt64: SocketIdentity] {
        var identities: [UInt64: SocketIdentity] = [:]
        for finding in findings where finding.technique == .inodeInNoTable {
            guard let inode = finding.inode, let holdings = holders.byInode[inode] else { continue }
            switch SocketInspector.identify(inode: inode, holders: holdings.map { (pid: $0.pid, fd: $0.fd) }) {
            case .success(let identity): identities[inode] = identity
            case .failure(let error):
                guard !error.meansGone else { continue }
                diagnostics.append(
                    Diagnostic(
                        .warning,
                        "cannot ask socket inode \(inode) (pid \(holdings[0].pid)) for its port through pidfd_getfd: \(error)\(error.meansDenied && Sys.userID() != 0 ? "; run as root" : "")"
                    ))
            }
        }
        return identities
    }

    /// Each /proc/net table read twice with raw system calls around one read
    /// through libc: a row in both raw reads cannot be missing from the libc
    /// read in between unless something filters libc's view. A static build
    /// has no dynamic loader, so nothing can interpose its libc: skipped.
    static func libcDifferences(_ procfs: ProcFS, _ options: Options) -> [TamperHint.LibcDifference] {
        var differences: [TamperHint.LibcDifference] = []
        guard !Sys.isStaticallyLinked else { return differences }
        for proto in options.protocols where proto != .raw {
            for family in options.families {
                let name = "net/" + proto.rawValue + (family == .ipv6 ? "6" : "")
                guard let first = try? procfs.readBypassingLibc(name), let viaLibc = try? procfs.read(name, sizeHint: 65536),
                    let second = try? procfs.readBypassingLibc(name)
                else { continue }
                func rows(_ bytes: [UInt8]) -> [UInt64: UInt16] {
                    var out: [UInt64: UInt16] = [:]
                    for record in ProcNetParser.parse(bytes, proto: proto, family: family, name: name).records where record.inode != 0 {
                        out[record.inode] = record.localPort
                    }
                    return out
                }
                let (a, b, libc) = (rows(first), rows(second), rows(viaLibc))
                let missing = a.filter { b[$0.key] != nil && libc[$0.key] == nil }.map(\.value)
                if !missing.isEmpty {
                    differences.append(
                        .init(
                            table: procfs.root + "/" + name, proto: proto, family: family,
                            missingPorts: Array(Set(missing)).sorted()))
                }
            }
        }
        return differences
    }

    /// kernel.pid_max: every pid below it is looked up (PID_MAX_LIMIT, with a
    /// notice, when it cannot be read).
    static func pidMax(_ procfs: ProcFS, _ diagnostics: inout [Diagnostic]) -> Int32 {
        let limit: Int32 = 4_194_304  // PID_MAX_LIMIT on 64-bit
        let configured = (try? procfs.read("sys/kernel/pid_max")).flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingWhitespace) }
        if configured == nil {
            diagnostics.append(Diagnostic(.notice, "cannot read \(procfs.root)/sys/kernel/pid_max; looking up pids up to \(limit)"))
        }
        return min(limit, max(1, configured ?? limit))
    }

    /// The /proc listing, and the number of tasks the kernel counts when
    /// that count proves the listing holds every one of them (nil when it
    /// does not: see `TaskCensus`). Five tries, since a fork or an exit
    /// anywhere on the host while the listed processes' threads are counted
    /// spoils one.
    static func listProcesses(_ procfs: ProcFS) throws(Errno) -> (pids: [Int32], tasks: Int?) {
        func counters() -> TaskCensus.Counters? {
            guard let loadavg = try? procfs.read("loadavg", sizeHint: 128), let stat = try? procfs.read("stat", sizeHint: 16384)
            else { return nil }
            return TaskCensus.Counters(loadavg: loadavg, stat: stat)
        }
        var pids: [Int32] = []
        for _ in 0..<5 {
            let before = counters()
            pids = try procfs.listedPIDs()
            guard before != nil else { break }
            var threads: Int? = 0
            for pid in pids {
                guard let stat = try? procfs.read("\(pid)/stat", sizeHint: 1024), let count = TaskCensus.threadCount(stat: stat) else {
                    threads = nil
                    break
                }
                threads? += count
            }
            let after = counters()
            if TaskCensus.proves(before: before, after: after, listedThreads: threads) { return (pids, before?.tasks) }
        }
        return (pids, nil)
    }

    /// The pids of a listing as a bitmap up to pid_max: the sweep asks it
    /// only about pids that exist, but cheaply either way.
    struct PIDBitmap: Sendable {
        private var words: [UInt64]

        init(_ pids: [Int32], below limit: Int32) {
            words = [UInt64](repeating: 0, count: Int(max(limit, 1)) / 64 + 1)
            for pid in pids where pid >= 0 && Int(pid) / 64 < words.count { words[Int(pid) / 64] |= 1 << UInt64(pid % 64) }
        }

        func contains(_ pid: Int32) -> Bool {
            pid >= 0 && Int(pid) / 64 < words.count && words[Int(pid) / 64] & (1 << UInt64(pid % 64)) != 0
        }
    }

    /// The pids in `range` that /proc/PID answers for but the listing omits,
    /// as unhide's brute mode finds them. One system call per pid (getpgid(2):
    /// it, kill(2), getsid(2), getpriority(2), sched_getparam(2) and
    /// pidfd_open(2) all cost what a system call without work costs) tells
    /// whether a task has it; only for those is the listing consulted. A
    /// thread's /proc/TID answers too without being listed, so only
    /// thread-group leaders count.
    static func unlistedProcesses(_ procfs: ProcFS, listed: PIDBitmap, in range: ClosedRange<Int32>) -> [Int32] {
        range.filter { pid in
            Sys.taskExists(pid) && !listed.contains(pid) && procfs.exists(pid: pid) && isProcessLeader(procfs, pid)
        }
    }

    static func isProcessLeader(_ procfs: ProcFS, _ pid: Int32) -> Bool {
        guard let status = try? procfs.process(pid).read("status", sizeHint: 2048) else { return false }
        return ProcessFiles.threadGroupID(status: status) == pid
    }

    /// Re-verification of hidden processes: which of `pids` are still there,
    /// still processes, and still missing from a fresh listing.
    static func unlistedStill(_ procfs: ProcFS, _ pids: Set<Int32>) -> Set<Int32> {
        guard let listed = try? Set(procfs.listedPIDs()) else { return [] }
        return pids.filter { !listed.contains($0) && procfs.exists(pid: $0) && isProcessLeader(procfs, $0) }
    }

    /// "name, exe /path" for a hidden process, escaped.
    static func describe(_ procfs: ProcFS, _ pid: Int32) -> String {
        guard let process = try? procfs.process(pid) else { return "gone" }
        var parts: [String] = []
        if let stat = try? process.read("stat"), let parsed = ProcessFiles.parseStat(stat) { parts.append(parsed.name) }
        if let exe = try? process.readLink("exe") { parts.append("exe " + UntrustedText.escape(exe)) }
        return parts.isEmpty ? "unreadable" : parts.joined(separator: ", ")
    }

    final class DiagnosticBox { var diagnostics: [Diagnostic] = [] }

    /// Drops repeated diagnostics, keeping the first of each.
    static func reportOnce(_ diagnostics: inout [Diagnostic]) {
        var seen = Set<Diagnostic>()
        diagnostics = diagnostics.filter { seen.insert($0).inserted }
    }

    /// Every table at this moment. A view that fails is nil plus a diagnostic.
    /// `protocols`: whose tables to read (nil: all of `options.protocols`);
    /// `procNet: false` leaves the /proc/net view out (nil).
    static func dumpTables(
        _ procfs: ProcFS, _ options: Options, _ diagnostics: inout [Diagnostic],
        protocols: [TransportProtocol]? = nil, procNet: Bool = true
    ) -> TableSnapshot {
        let wanted = protocols ?? options.protocols
        let netlink = netlinkView(options, protocols: wanted, &diagnostics)
        let procNetView = procNet ? readProcNet(procfs, options, protocols: wanted, &diagnostics) : nil
        return TableSnapshot(netlink: netlink, procNet: procNetView, otherInodes: otherTableInodes(procfs, prefix: options.tablePrefix))
    }

    /// The netlink sock_diag tables of `protocols` (every state) as one view;
    /// nil (and a diagnostic) when one cannot be dumped.
    static func netlinkView(_ options: Options, protocols: [TransportProtocol], _ diagnostics: inout [Diagnostic]) -> TableView? {
        let query = SocketQuery(protocols: Set(protocols), families: Set(options.families), listeningOnly: false)
        var client = SockDiagClient()
        do { return TableView(records: try client.dump(query)) } catch {
            diagnostics.append(Diagnostic(.warning, "netlink view unavailable: \(error)"))
            return nil
        }
    }

    /// The ports a bind probe need not look at: some table lists a socket on them.
    static func knownPorts(_ views: [TableView?]) -> Set<PortKey> {
        views.compactMap { $0?.coveredKeys }.reduce(into: Set<PortKey>()) { $0.formUnion($1) }
    }

    /// The /proc/net tables of `protocols` as one view; nil (and a diagnostic)
    /// when one cannot be read.
    static func readProcNet(
        _ procfs: ProcFS, _ options: Options, protocols: [TransportProtocol],
        _ diagnostics: inout [Diagnostic]
    ) -> TableView? {
        var view = TableView()
        for proto in protocols where proto != .raw {
            for family in options.families {
                do {
                    let parsed = try procfs.socketTable(proto, family, prefix: options.tablePrefix)
                    diagnostics += parsed.diagnostics
                    for record in parsed.records { view.add(record) }
                } catch {
                    if error == .noSuchFile && family == .ipv6 { continue }  // IPv6 disabled: no such sockets either
                    let name = "net/" + proto.rawValue + (family == .ipv6 ? "6" : "")
                    diagnostics.append(Diagnostic(.warning, "/proc/net view unavailable: cannot read \(procfs.root)/\(name): \(error)"))
                    return nil
                }
            }
        }
        return view
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

    /// Every socket inode the other namespaces' tables list: their inet
    /// tables over netlink (a socket made inside each), and every table of
    /// /proc/PID/net of one of their processes.
    static func foreignInodes(_ procfs: ProcFS, _ namespaces: [NamespaceDiscovery.Found], _ diagnostics: inout [Diagnostic])
        -> Set<UInt64>
    {
        var inodes = Set<UInt64>()
        let paths = namespaces.map { $0.entryPath(procRoot: procfs.root) }
        let query = SocketQuery(protocols: Set(TransportProtocol.allCases), families: Set(AddressFamily.allCases), listeningOnly: false)
        for (found, socket) in zip(namespaces, namespaces.isEmpty ? [] : Sys.netlinkSockets(protocol: 4, inNamespaces: paths)) {
            switch socket {
            case .success(let fd):
                var client = SockDiagClient(adopting: fd)
                for proto in TransportProtocol.allCases {
                    for family in AddressFamily.allCases {
                        guard let records = try? client.dump(proto: proto, family: family, states: query.stateMask(for: proto)) else {
                            continue
                        }
                        for record in records where record.inode != 0 { inodes.insert(record.inode) }
                    }
                }
            case .failure(let error) where found.pids.isEmpty:
                diagnostics.append(
                    Diagnostic(
                        .warning, "network namespace \(found.namespace.label): cannot enter it: \(error); its tables are not compared"))
            case .failure:
                break  // its /proc/PID/net is read below
            }
        }
        for pid in namespaces.compactMap(\.pids.first) {
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

    /// The socket descriptors of `pids` (one walk of their fd tables), with
    /// a warning naming the processes whose tables could not be read.
    static func fdWalk(_ procfs: ProcFS, pids: [Int32], _ diagnostics: inout [Diagnostic]) -> OwnerResolver.Holders {
        guard !pids.isEmpty else { return OwnerResolver.Holders() }
        let holders: OwnerResolver.Holders
        do { holders = try OwnerResolver(procfs: procfs, parallelism: 1).holders(pids: pids) } catch {
            diagnostics.append(Diagnostic(.warning, "fd walk unavailable: \(error); owners and inodes in no table not checked"))
            return OwnerResolver.Holders()
        }
        if !holders.deniedPIDs.isEmpty {
            let shown =
                holders.deniedPIDs.prefix(5).map(String.init).joined(separator: ", ") + (holders.deniedPIDs.count > 5 ? ", ..." : "")
            diagnostics.append(
                Diagnostic(
                    .warning,
                    "fd tables of \(holders.deniedPIDs.count) process\(holders.deniedPIDs.count == 1 ? "" : "es") (pid \(shown)) could not be read (permission denied); their sockets are not checked against the tables\(Sys.userID() == 0 ? "" : "; run as root")"
                ))
        }
        return holders
    }

    /// Socket inodes with the pids holding each (an fd walk without the fd numbers).
    static func heldSockets(_ holders: OwnerResolver.Holders) -> HeldSockets {
        var byInode: [UInt64: [Int32]] = [:]
        byInode.reserveCapacity(holders.byInode.count)
        for (inode, holdings) in holders.byInode {
            // Nearly every socket has one holder: no set to build for it.
            byInode[inode] = holdings.count == 1 ? [holdings[0].pid] : Array(Set(holdings.map(\.pid))).sorted()
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

extension HiddenPortCheck {
    /// The check of each namespace's own ports, run from inside it
    /// (`hidden --all-netns`): its tables against bind and connect probes
    /// made there. One namespace at a time, each on a thread of its own
    /// that enters it and ends there.
    public static func runInside(_ namespaces: [NamespaceDiscovery.Found], options: Options) -> [(
        namespace: NetworkNamespace, report: Result<HiddenReport, HiddenCheckError>
    )] {
        var insideOptions = options
        insideOptions.namespaceOnly = true
        insideOptions.progress = nil
        let inside = insideOptions
        return namespaces.map { found in
            let entered = Sys.inNetworkNamespace(found.entryPath(procRoot: options.procRoot)) {
                Result { () throws(HiddenCheckError) in try run(inside) }
            }
            switch entered {
            case .success(let report): return (found.namespace, report)
            case .failure(let error): return (found.namespace, .failure(HiddenCheckError("cannot enter it: \(error)")))
            }
        }
    }
}
