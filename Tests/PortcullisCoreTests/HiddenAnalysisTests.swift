import Testing

@testable import PortcullisCore

/// A socket table row for the hidden-port tests.
private func row(
    _ proto: TransportProtocol, _ family: AddressFamily, _ port: UInt16, inode: UInt64 = 0,
    address: IPAddress? = nil, state: SocketState = .listen, v6only: Bool? = nil
) -> SocketRecord {
    SocketRecord(
        proto: proto, family: family, localAddress: address ?? (family == .ipv4 ? .anyV4 : .anyV6), localPort: port,
        remoteAddress: family == .ipv4 ? .anyV4 : .anyV6, remotePort: 0, stateCode: state.rawValue,
        inode: inode, uid: 0, v6only: v6only)
}

private let allPairs: Set<BindSweep.Pair> = [.init(.tcp, .ipv4), .init(.tcp, .ipv6), .init(.udp, .ipv4), .init(.udp, .ipv6)]

private func views(
    netlink: [SocketRecord], procNet: [SocketRecord], inUse: [PortKey] = [],
    held: [UInt64: [Int32]] = [:], other: Set<UInt64> = []
) -> HiddenViews {
    var outcomes: [PortKey: BindOutcome] = [:]
    for key in inUse { outcomes[key] = .inUse }
    return HiddenViews(
        tables: TableSnapshot(netlink: TableView(records: netlink), procNet: TableView(records: procNet), otherInodes: other),
        bind: BindSweep(outcomes: outcomes, pairs: allPairs), held: HeldSockets(byInode: held))
}

/// A scripted host for the verifier: each call to `dump` returns the next
/// snapshot (the last one repeats), each probe the next outcome for its key.
private final class ScriptedHost {
    var dumps: [TableSnapshot]
    var probes: [PortKey: [ProbeEvidence]]
    var holding: [UInt64: [[Int32]]]
    var dumpCount = 0
    var probeCount = 0
    var pauses = 0

    init(dumps: [TableSnapshot], probes: [PortKey: [ProbeEvidence]] = [:], holding: [UInt64: [[Int32]]] = [:]) {
        self.dumps = dumps
        self.probes = probes
        self.holding = holding
    }

    func verifier(rounds: Int = 3) -> HiddenVerifier {
        HiddenVerifier(
            rounds: rounds,
            dump: {
                let snapshot = self.dumps[min(self.dumpCount, self.dumps.count - 1)]
                self.dumpCount += 1
                return snapshot
            },
            probe: { key in
                self.probeCount += 1
                guard var list = self.probes[key], let first = list.first else { return ProbeEvidence(bind: .free) }
                if list.count > 1 {
                    list.removeFirst()
                    self.probes[key] = list
                }
                return first
            },
            holders: { inode, _ in
                guard var list = self.holding[inode], let first = list.first else { return [] }
                if list.count > 1 {
                    list.removeFirst()
                    self.holding[inode] = list
                }
                return first
            },
            pause: { self.pauses += 1 })
    }
}

private func snapshot(netlink: [SocketRecord], procNet: [SocketRecord], other: Set<UInt64> = []) -> TableSnapshot {
    TableSnapshot(netlink: TableView(records: netlink), procNet: TableView(records: procNet), otherInodes: other)
}

@Suite struct HiddenAnalysisTests {
    let key = PortKey(.tcp, .ipv4, 4444)

    /// Every combination of listed-by-netlink, listed-by-/proc/net and bind-probe outcome.
    @Test(arguments: [true, false], [true, false])
    func everyCombinationOfTablesAndProbe(inNetlink: Bool, inProcNet: Bool) {
        for bind in [BindOutcome.inUse, .free, .notProbed("EACCES"), .error(errno: 22, message: "EINVAL")] {
            let records = [row(.tcp, .ipv4, 4444, inode: 10)]
            var v = views(netlink: inNetlink ? records : [], procNet: inProcNet ? records : [])
            if bind != .free { v.bind.outcomes[key] = bind }
            let found = HiddenAnalysis.candidates(v)
            switch (inNetlink, inProcNet) {
            case (true, true): #expect(found.isEmpty)
            case (true, false): #expect(found == [.port(key, .procNetHook)])
            case (false, true): #expect(found == [.port(key, .inetDiagHook)])
            case (false, false): #expect(found == (bind == .inUse ? [.port(key, .hiddenFromAllReaders)] : []), "\(bind)")
            }
        }
    }

    /// A TIME_WAIT row in one table only (it expired, or appeared, between
    /// the two reads) is not a hook; a listener in one table only is.
    @Test func timeWaitInOneTableOnlyIsNotCompared() {
        let tw = row(.tcp, .ipv4, 40001, state: .timeWait)
        #expect(HiddenAnalysis.candidates(views(netlink: [tw], procNet: [])).isEmpty)
        #expect(HiddenAnalysis.candidates(views(netlink: [], procNet: [tw])).isEmpty)
        let listener = row(.tcp, .ipv4, 40001, inode: 5)
        #expect(HiddenAnalysis.candidates(views(netlink: [], procNet: [listener])) == [.port(PortKey(.tcp, .ipv4, 40001), .inetDiagHook)])
    }

    @Test func persistentHiddenPortBecomesAFindingWithWordingAndViews() throws {
        let empty = snapshot(netlink: [], procNet: [])
        let host = ScriptedHost(dumps: [empty], probes: [key: [ProbeEvidence(bind: .inUse, connect: .accepted)]])
        let findings = try host.verifier().verify([.port(key, .hiddenFromAllReaders)], held: HeldSockets())
        let finding = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(finding.key == key && finding.alarm)
        #expect(finding.seenBy == [.bindProbe, .connectProbe])
        #expect(finding.notSeenBy == [.netlink, .procNet])
        #expect(
            finding.explanation
                == "in use per bind and connect probes; absent from netlink and /proc/net: hidden from every userland socket reader, consistent with a kernel-level rootkit"
        )
        #expect(host.pauses == 3 && host.probeCount == 3 && host.dumpCount == 6)
    }

    @Test func hiddenUDPPortNamesOnlyTheBindProbe() throws {
        let udp = PortKey(.udp, .ipv6, 53535)
        let host = ScriptedHost(dumps: [snapshot(netlink: [], procNet: [])], probes: [udp: [ProbeEvidence(bind: .inUse)]])
        let finding = try #require(try host.verifier().verify([.port(udp, .hiddenFromAllReaders)], held: HeldSockets()).first)
        #expect(finding.seenBy == [.bindProbe])
        #expect(finding.explanation.hasPrefix("in use per bind probe; absent from netlink and /proc/net"))
    }

    @Test func procHookAndInetDiagHookNameTheTechniqueAndOwner() throws {
        let listed = [row(.tcp, .ipv4, 4444, inode: 77)]
        let held = HeldSockets(byInode: [77: [1234]])
        let procHook = ScriptedHost(
            dumps: [snapshot(netlink: listed, procNet: [])], probes: [key: [ProbeEvidence(bind: .inUse, connect: .accepted)]])
        let a = try #require(try procHook.verifier().verify([.port(key, .procNetHook)], held: held).first)
        #expect(a.explanation == "absent from /proc/net only: a /proc hook (ss would still show it)")
        #expect(a.ownerPIDs == [1234])
        #expect(a.seenBy == [.netlink, .bindProbe, .connectProbe, .fdWalk] && a.notSeenBy == [.procNet])

        let diagHook = ScriptedHost(dumps: [snapshot(netlink: [], procNet: listed)], probes: [key: [ProbeEvidence(bind: .inUse)]])
        let b = try #require(try diagHook.verifier().verify([.port(key, .inetDiagHook)], held: held).first)
        #expect(b.explanation == "absent from netlink only: an inet_diag hook (netstat would still show it)")
        #expect(b.ownerPIDs == [1234] && b.notSeenBy == [.netlink])
    }

    // MARK: races resolved by re-verification

    @Test func portInUseOnceThenFreeIsNotReported() throws {
        let host = ScriptedHost(
            dumps: [snapshot(netlink: [], procNet: [])],
            probes: [key: [ProbeEvidence(bind: .inUse), ProbeEvidence(bind: .free)]])
        #expect(try host.verifier().verify([.port(key, .hiddenFromAllReaders)], held: HeldSockets()).isEmpty)
    }

    @Test func portThatAppearsInTheTableOnTheSecondDumpIsNotReported() throws {
        // Round 1: before-dump empty, after-dump lists it (a socket opened mid-round).
        let empty = snapshot(netlink: [], procNet: [])
        let listed = snapshot(netlink: [row(.tcp, .ipv4, 4444)], procNet: [row(.tcp, .ipv4, 4444)])
        let host = ScriptedHost(dumps: [empty, listed], probes: [key: [ProbeEvidence(bind: .inUse)]])
        #expect(try host.verifier().verify([.port(key, .hiddenFromAllReaders)], held: HeldSockets()).isEmpty)
    }

    @Test func aDiscrepancyGoneInTheLastRoundIsNotReported() throws {
        let empty = snapshot(netlink: [], procNet: [])
        let listed = snapshot(netlink: [row(.tcp, .ipv4, 4444)], procNet: [row(.tcp, .ipv4, 4444)])
        // Rounds 1 and 2 see it hidden; round 3's dumps list it.
        let host = ScriptedHost(dumps: [empty, empty, empty, empty, listed], probes: [key: [ProbeEvidence(bind: .inUse)]])
        #expect(try host.verifier().verify([.port(key, .hiddenFromAllReaders)], held: HeldSockets()).isEmpty)
        #expect(host.pauses == 3)
    }

    @Test func procNetCatchingUpWithNetlinkIsNotReported() throws {
        // Netlink dumped after the socket opened, /proc/net before: resolved next round.
        let r = [row(.udp, .ipv4, 5353, inode: 9)]
        let host = ScriptedHost(dumps: [snapshot(netlink: r, procNet: r)])
        #expect(try host.verifier().verify([.port(PortKey(.udp, .ipv4, 5353), .procNetHook)], held: HeldSockets()).isEmpty)
    }

    @Test func socketClosedDuringRoundsIsNotReported() throws {
        let host = ScriptedHost(dumps: [snapshot(netlink: [], procNet: [])], holding: [55: [[42], []]])
        #expect(try host.verifier().verify([.inode(55, pids: [42])], held: HeldSockets()).isEmpty)
    }

    @Test func zeroCandidatesMeansNoRounds() throws {
        let host = ScriptedHost(dumps: [snapshot(netlink: [], procNet: [])])
        #expect(try host.verifier().verify([], held: HeldSockets()).isEmpty)
        #expect(host.dumpCount == 0 && host.pauses == 0)
    }

    // MARK: subtleties of what explains a bind probe

    @Test func outgoingConnectionsAndTimeWaitExplainTheirEphemeralPorts() {
        let remote = IPAddress(v4: 192, 0, 2, 1)
        var established = row(.tcp, .ipv4, 50123, inode: 5, address: IPAddress(v4: 10, 0, 0, 5), state: .established)
        established.remoteAddress = remote
        established.remotePort = 443
        let timeWait = row(.tcp, .ipv4, 50124, inode: 0, address: IPAddress(v4: 10, 0, 0, 5), state: .timeWait)
        let v = views(
            netlink: [established, timeWait], procNet: [established, timeWait],
            inUse: [PortKey(.tcp, .ipv4, 50123), PortKey(.tcp, .ipv4, 50124)])
        #expect(HiddenAnalysis.candidates(v).isEmpty)
    }

    @Test func dualStackListenerExplainsTheIPv4ProbeButV6OnlyDoesNot() {
        let v4 = PortKey(.tcp, .ipv4, 8080)
        let dual = [row(.tcp, .ipv6, 8080, inode: 3, v6only: false)]
        #expect(HiddenAnalysis.candidates(views(netlink: dual, procNet: dual, inUse: [v4, PortKey(.tcp, .ipv6, 8080)])).isEmpty)

        let v6only = [row(.tcp, .ipv6, 8080, inode: 3, v6only: true)]
        #expect(HiddenAnalysis.candidates(views(netlink: v6only, procNet: v6only, inUse: [v4])) == [.port(v4, .hiddenFromAllReaders)])
    }

    @Test func procNetWithoutV6OnlyIsTakenAsNotV6Only() {
        let v4 = PortKey(.udp, .ipv4, 9999)
        let netlinkRow = row(.udp, .ipv6, 9999, inode: 4, v6only: true)
        let procRow = row(.udp, .ipv6, 9999, inode: 4, v6only: nil)
        // The tables differ only in V6ONLY knowledge: no table-vs-table candidate,
        // and /proc/net's "maybe dual-stack" explains the IPv4 probe.
        #expect(HiddenAnalysis.candidates(views(netlink: [netlinkRow], procNet: [procRow], inUse: [v4])).isEmpty)
        // Even on a specific address such as ::1 (a TIME_WAIT row, say), a socket
        // that is not V6ONLY makes the 0.0.0.0 probe fail: the kernel gives it
        // the IPv4 address 127.0.0.6, which a wildcard bind conflicts with.
        let loopback6 = IPAddress(v6High: 0, low: 1)
        let timeWait = [row(.tcp, .ipv6, 9999, inode: 0, address: loopback6, state: .timeWait)]
        let tcp4 = PortKey(.tcp, .ipv4, 9999)
        #expect(HiddenAnalysis.candidates(views(netlink: timeWait, procNet: timeWait, inUse: [tcp4])).isEmpty)
        let v6onlyLoopback = [row(.udp, .ipv6, 9999, inode: 4, address: loopback6, v6only: true)]
        #expect(
            HiddenAnalysis.candidates(views(netlink: v6onlyLoopback, procNet: v6onlyLoopback, inUse: [v4])) == [
                .port(v4, .hiddenFromAllReaders)
            ])
        // An IPv4 socket does not explain an IPv6 (V6ONLY) probe.
        let v4row = [row(.udp, .ipv4, 9999, inode: 4)]
        let v6 = PortKey(.udp, .ipv6, 9999)
        #expect(HiddenAnalysis.candidates(views(netlink: v4row, procNet: v4row, inUse: [v6])) == [.port(v6, .hiddenFromAllReaders)])
    }

    @Test func boundButInactiveTCPSocketsOnlyNetlinkListsAreNotAProcHook() {
        // Linux 6.8+ dumps TCP sockets that are bound but neither listening nor
        // connected (TCP_BOUND_INACTIVE); /proc/net never lists them.
        for state in [SocketState.close, .boundInactive] {
            let bound = row(.tcp, .ipv4, 4444, inode: 8, state: state)
            #expect(HiddenAnalysis.candidates(views(netlink: [bound], procNet: [], inUse: [key], held: [8: [10]])).isEmpty)
        }
        // A UDP socket in state CLOSE is an ordinary unconnected one: /proc/net must list it.
        let udp = row(.udp, .ipv4, 4444, inode: 8, state: .close)
        #expect(HiddenAnalysis.candidates(views(netlink: [udp], procNet: [])) == [.port(PortKey(.udp, .ipv4, 4444), .procNetHook)])
    }

    @Test func protocolsDoNotExplainEachOther() {
        let udpRow = [row(.udp, .ipv4, 4444, inode: 1)]
        #expect(HiddenAnalysis.candidates(views(netlink: udpRow, procNet: udpRow, inUse: [key])) == [.port(key, .hiddenFromAllReaders)])
    }

    @Test func oneUnreadableTableStillComparesTheOther() throws {
        var v = views(netlink: [], procNet: [], inUse: [key])
        v.tables.netlink = nil
        #expect(HiddenAnalysis.candidates(v) == [.port(key, .hiddenFromAllReaders)])
        let host = ScriptedHost(dumps: [TableSnapshot(netlink: nil, procNet: TableView())], probes: [key: [ProbeEvidence(bind: .inUse)]])
        let finding = try #require(try host.verifier().verify(HiddenAnalysis.candidates(v), held: HeldSockets()).first)
        #expect(finding.notSeenBy == [.procNet])
        #expect(finding.explanation.contains("the other table could not be read"))
        v.tables.procNet = nil
        #expect(HiddenAnalysis.candidates(v).isEmpty)
    }

    // MARK: the fd walk

    @Test func inodeHeldButInNoTableIsANoticeNotAnAlarm() throws {
        let listed = [row(.tcp, .ipv4, 22, inode: 100)]
        let v = views(netlink: listed, procNet: listed, held: [100: [1], 200: [7], 300: [8], 400: [9]], other: [300])
        var tables = v.tables
        tables.procNet?.add(row(.udp, .ipv4, 0, inode: 400))  // unbound UDP socket: no port, but listed
        let candidates = HiddenAnalysis.candidates(HiddenViews(tables: tables, bind: v.bind, held: v.held))
        #expect(candidates == [.inode(200, pids: [7])])
        let host = ScriptedHost(dumps: [tables], holding: [200: [[7]]])
        let finding = try #require(try host.verifier().verify(candidates, held: v.held).first)
        #expect(!finding.alarm && finding.technique == .inodeInNoTable && finding.ownerPIDs == [7])
        #expect(finding.explanation.hasPrefix("socket inode 200 held by pid 7 but in no table"))
    }

    // MARK: a socket asked for its own port (pidfd_getfd)

    private func inodeFinding(_ inode: UInt64, pid: Int32) -> HiddenFinding {
        HiddenFinding(
            technique: .inodeInNoTable, key: nil, inode: inode, seenBy: [.fdWalk], notSeenBy: [.netlink, .procNet],
            ownerPIDs: [pid], alarm: false, explanation: "socket inode \(inode) held by pid \(pid) but in no table")
    }

    private func portFinding(_ key: PortKey) -> HiddenFinding {
        HiddenFinding(
            technique: .hiddenFromAllReaders, key: key, inode: nil, seenBy: [.bindProbe, .connectProbe],
            notSeenBy: [.netlink, .procNet], ownerPIDs: [], alarm: true, explanation: "in use per bind and connect probes")
    }

    @Test func inodeOfAHiddenPortGivesThePortItsOwnerAndIsFolded() {
        let v6 = PortKey(.tcp, .ipv6, 4444)
        let identity = SocketIdentity(
            domain: SocketDomain.inet6.number, protocolNumber: InetProtocol.tcp.number, localPort: 4444, tcpState: .listen, pid: 77)
        // A dual-stack IPv6 listener also holds the IPv4 port: both findings get the owner.
        let out = HiddenAnalysis.attribute([portFinding(key), portFinding(v6), inodeFinding(900, pid: 77)], identities: [900: identity])
        #expect(out.count == 2)
        for finding in out {
            #expect(finding.ownerPIDs == [77] && finding.inode == 900 && finding.alarm)
            #expect(finding.seenBy == [.bindProbe, .connectProbe, .fdWalk])
            #expect(finding.explanation.hasSuffix("; held by pid 77 (socket inode 900, found through its descriptor)"))
        }
        // An IPv4 socket does not claim the IPv6 port.
        let v4 = SocketIdentity(
            domain: SocketDomain.inet.number, protocolNumber: InetProtocol.tcp.number, localPort: 4444, tcpState: .listen, pid: 5)
        let only = HiddenAnalysis.attribute([portFinding(v6), inodeFinding(901, pid: 5)], identities: [901: v4])
        #expect(only.count == 2 && only[0].ownerPIDs.isEmpty)
        #expect(only[1].key == key && only[1].alarm && only[1].technique == .hiddenFromAllReaders)
    }

    @Test func boundSocketInNoTableWithoutAPortFindingBecomesOne() throws {
        let udp = SocketIdentity(domain: SocketDomain.inet.number, protocolNumber: InetProtocol.udp.number, localPort: 5353, pid: 8)
        let finding = try #require(HiddenAnalysis.attribute([inodeFinding(5, pid: 8)], identities: [5: udp]).first)
        #expect(finding.alarm && finding.key == PortKey(.udp, .ipv4, 5353) && finding.inode == 5 && finding.ownerPIDs == [8])
        #expect(finding.seenBy == [.fdWalk] && finding.notSeenBy == [.netlink, .procNet])
        #expect(
            finding.explanation
                == "AF_INET UDP socket bound to port 5353 held by pid 8 (found through its descriptor), absent from netlink and /proc/net: hidden from the socket tables"
        )
    }

    @Test func closedUnboundAndTablelessSocketsStayNoticesThatSayWhatTheyAre() {
        let closed = SocketIdentity(
            domain: SocketDomain.inet.number, protocolNumber: InetProtocol.tcp.number, localPort: 40000, tcpState: .close, pid: 3)
        let unbound = SocketIdentity(domain: SocketDomain.inet6.number, protocolNumber: InetProtocol.udp.number, localPort: 0, pid: 3)
        let vsock = SocketIdentity(domain: 40, protocolNumber: 0, localPort: 0, pid: 3)
        let out = HiddenAnalysis.attribute(
            [inodeFinding(1, pid: 3), inodeFinding(2, pid: 3), inodeFinding(3, pid: 3), inodeFinding(4, pid: 3)],
            identities: [1: closed, 2: unbound, 3: vsock])
        #expect(out.allSatisfy { !$0.alarm && $0.key == nil })
        #expect(
            out.map(\.explanation) == [
                "AF_INET TCP socket in state close (inode 1, port 40000) held by pid 3: closed or never listening, so no table lists it",
                "AF_INET6 UDP socket (inode 2) held by pid 3: unbound, and no table lists a socket before it is bound",
                "AF_VSOCK socket (inode 3) held by pid 3: no table lists this kind of socket",
                "socket inode 4 held by pid 3 but in no table",
            ])
    }

    /// The tables are compared as of one dump: a listener that opened after
    /// the first dump is in the second dump's netlink table only, which
    /// explains its probe but is no /proc hook.
    @Test func tablesAreComparedAsOfOneDump() {
        let first = TableSnapshot(netlink: TableView(records: []), procNet: TableView(records: []))
        let both = TableSnapshot(netlink: TableView(records: [row(.tcp, .ipv4, 8080, inode: 77)]), procNet: TableView(records: []))
        let opened = PortKey(.tcp, .ipv4, 8080)
        let v = HiddenViews(
            tables: first.union(both), comparison: first,
            bind: BindSweep(outcomes: [opened: .inUse], pairs: allPairs), held: HeldSockets(byInode: [77: [100]]))
        #expect(HiddenAnalysis.candidates(v).isEmpty)
        // Compared on the union instead, the same tables would invent a hook.
        let naive = HiddenViews(tables: first.union(both), bind: v.bind, held: v.held)
        #expect(HiddenAnalysis.candidates(naive) == [.port(opened, .procNetHook)])
    }

    // MARK: processes hidden from the /proc listing

    @Test func hiddenProcessIsConfirmedOnlyWhileTheListingStillOmitsIt() throws {
        var v = views(netlink: [], procNet: [])
        v.unlisted = [4242: "evil, exe /tmp/.x/evil"]
        let candidates = HiddenAnalysis.candidates(v)
        #expect(candidates == [.process(4242, description: "evil, exe /tmp/.x/evil")])
        var answers = [true, true, true]
        let host = ScriptedHost(dumps: [snapshot(netlink: [], procNet: [])])
        var verifier = host.verifier()
        verifier.unlisted = { pids in answers.removeFirst() ? pids : [] }
        let finding = try #require(try verifier.verify(candidates, held: HeldSockets()).first)
        #expect(finding.kind == .process && finding.alarm && finding.ownerPIDs == [4242])
        #expect(
            finding.explanation
                == "pid 4242 (evil, exe /tmp/.x/evil) exists but is missing from the /proc directory listing: a process-hiding rootkit")
        // Born after the listing: the next listing shows it, so it is dropped.
        answers = [false]
        #expect(try verifier.verify(candidates, held: HeldSockets()).isEmpty)
    }

    @Test func portOwnedByAHiddenProcessSaysSo() {
        let process = HiddenFinding(
            technique: .processHiddenFromListing, key: nil, inode: nil, seenBy: [], notSeenBy: [],
            ownerPIDs: [66], alarm: true, explanation: "pid 66 ...")
        let identity = SocketIdentity(
            domain: SocketDomain.inet.number, protocolNumber: InetProtocol.tcp.number, localPort: 4444, tcpState: .listen, pid: 66)
        let out = HiddenAnalysis.attribute([portFinding(key), inodeFinding(9, pid: 66), process], identities: [9: identity])
        #expect(out.count == 2)
        #expect(out[0].explanation.hasSuffix("; owner 66 is itself hidden from the /proc listing"))
        #expect(out[1].explanation == "pid 66 ...")
    }

    // MARK: tamper hints

    @Test func portThatRawReadsStillShowIsBlamedOnALibcHook() {
        let identity = SocketIdentity(
            domain: SocketDomain.inet.number, protocolNumber: InetProtocol.tcp.number, localPort: 4444, tcpState: .listen, pid: 9)
        let blamed = HiddenAnalysis.blameLibc(
            [portFinding(key), portFinding(PortKey(.udp, .ipv4, 4444)), inodeFinding(1, pid: 9)],
            differences: [.init(table: "/proc/net/tcp", proto: .tcp, family: .ipv4, missingPorts: [4444])])
        let out = HiddenAnalysis.attribute(blamed, identities: [1: identity])
        #expect(out[0].technique == .libcHook && out[0].ownerPIDs == [9])
        #expect(
            out[0].explanation
                == "absent from the tables as read through libc, listed when /proc/net is read with raw system calls: a library interposing libc (LD_PRELOAD) hides it from dynamically linked programs; held by pid 9 (socket inode 1, found through its descriptor)"
        )
        #expect(out[1].technique == .hiddenFromAllReaders, "only the table whose raw read differs")
    }

    @Test func tamperHintsNameEachSign() {
        let evidence = TamperEvidence(ldSoPreload: "/lib/x.so", ownPreload: "/tmp/h.so", listenerPreloads: [12: "/tmp/h.so"])
        let hints = TamperHint.hints(
            evidence,
            libcDifferences: [
                .init(table: "/proc/net/tcp", proto: .tcp, family: .ipv4, missingPorts: [4444]),
                .init(table: "/proc/net/udp", proto: .udp, family: .ipv4, missingPorts: []),
            ])
        #expect(hints.map(\.kind) == [.ldSoPreload, .ldPreloadEnv, .ownerLdPreload, .libcReadDiffers])
        #expect(hints[3].detail.hasPrefix("/proc/net/tcp read through libc lacks rows that direct system calls return (local port 4444)"))
        #expect(TamperHint.hints(TamperEvidence(), libcDifferences: []).isEmpty)
        let report = HiddenReport(
            findings: [], diagnostics: [], sweeps: [], candidates: 0, rounds: 1, durationMilliseconds: 1,
            tamperHints: hints, pidsChecked: 32768)
        let text = OutputSink.text { HiddenRenderer.writeText(report, style: TableStyle(color: false), to: &$0) }
        #expect(text.contains("tamper hint: /etc/ld.so.preload exists (/lib/x.so)"))
        #expect(text.contains("looked up 32768 pids directly"))
        #expect(
            HiddenRenderer.json(report).serialized().contains(
                #""pids_checked":32768,"tasks_counted":0,"netns_probed":[],"tamper_hints":[{"kind":"ld_so_preload","#))
        // No pid looked up: the kernel's task count proved the listing complete.
        let counted = HiddenReport(
            findings: [], diagnostics: [], sweeps: [], candidates: 0, rounds: 1, durationMilliseconds: 1, tasksCounted: 143)
        let countedText = OutputSink.text { HiddenRenderer.writeText(counted, style: TableStyle(color: false), to: &$0) }
        #expect(countedText.contains("; the listed processes hold all 143 tasks the kernel counts;"))
        #expect(!countedText.contains("looked up"))
        #expect(HiddenRenderer.json(counted).serialized().contains(#""pids_checked":0,"tasks_counted":143,"#))
    }

    /// Spellings that are output (`kind` in the JSON, the socket kind in
    /// explanations): a renamed case must not change them.
    @Test func kindSpellings() {
        #expect(TamperHint.Kind.allCases.map(\.rawValue) == ["ld_so_preload", "ld_preload_env", "owner_ld_preload", "libc_read_differs"])
        #expect(HiddenFinding.Kind.allCases.map(\.rawValue) == ["port", "inode", "process"])
        let process = HiddenFinding(
            technique: .processHiddenFromListing, key: nil, inode: nil, seenBy: [], notSeenBy: [], ownerPIDs: [1],
            alarm: true, explanation: "")
        #expect([portFinding(key), inodeFinding(1, pid: 1), process].map(\.kind) == [.port, .inode, .process])
        #expect(
            SocketDomain.named.map(\.name) == ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_ALG", "AF_VSOCK", "AF_XDP"])
        #expect(SocketDomain.named.map(\.number) == [1, 2, 10, 16, 17, 38, 40, 44])
        #expect(SocketDomain.named.allSatisfy { SocketDomain(number: $0.number) == $0 })
        #expect(SocketDomain(number: 99) == .other(99) && SocketDomain.other(99).name == "address family 99")
        #expect(InetProtocol.named.map(\.name) == ["TCP", "UDP", "SCTP", "UDP-Lite", "MPTCP"])
        #expect(InetProtocol.named.map(\.number) == [6, 17, 132, 136, 262])
        #expect(InetProtocol.named.allSatisfy { InetProtocol(number: $0.number) == $0 })
        #expect(InetProtocol(number: 99) == .other(99) && InetProtocol.other(99).name == "protocol 99")
        let kinds = [(10, 6), (2, 262), (2, 99), (40, 6), (99, 6)].map {
            SocketIdentity(domain: $0.0, protocolNumber: $0.1, localPort: 1, pid: 1).kind
        }
        #expect(
            kinds.map(\.description) == [
                "AF_INET6 TCP socket", "AF_INET MPTCP socket", "AF_INET protocol 99 socket", "AF_VSOCK socket",
                "address family 99 socket",
            ])
    }

    // MARK: rendering

    @Test func jsonAndNDJSONCarryTheDocumentedFields() throws {
        let finding = HiddenFinding(
            technique: .procNetHook, key: key, inode: nil, seenBy: [.netlink, .bindProbe], notSeenBy: [.procNet],
            ownerPIDs: [12], alarm: true, explanation: "absent from /proc/net only: a /proc hook (ss would still show it)")
        var sweep = HiddenReport.Sweep(proto: .tcp, family: .ipv4)
        sweep.inUse = 1
        sweep.free = 65534
        let report = HiddenReport(
            findings: [finding], diagnostics: [Diagnostic(.warning, "x")], sweeps: [sweep],
            candidates: 2, rounds: 3, durationMilliseconds: 900)
        let json = HiddenRenderer.json(report).serialized()
        #expect(
            json.hasPrefix(
                #"{"clean":false,"rounds":3,"candidates":2,"duration_ms":900,"bind_probes":[{"proto":"tcp","family":"ipv4","in_use":1,"listed":0,"free":65534,"not_probed":0,"errors":0}],"pids_checked":0,"tasks_counted":0,"netns_probed":[],"tamper_hints":[],"findings":[{"kind":"port","proto":"tcp","family":"ipv4","port":4444,"inode":null,"technique":"proc_net_hook","alarm":true,"seen_by":["netlink","bind_probe"],"not_seen_by":["proc_net"],"owner_pids":[12],"#
            ))
        let lines = OutputSink.text { HiddenRenderer.writeNDJSON(report, to: &$0) }.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix(#"{"type":"finding","kind":"port""#))
        #expect(lines[1].hasPrefix(#"{"type":"summary","clean":false"#))
        let text = OutputSink.text { HiddenRenderer.writeText(report, style: TableStyle(color: false), to: &$0) }
        #expect(text.contains("1 hidden port") && text.contains("4444/tcp ipv4: absent from /proc/net only"))
        #expect(report.foundSomethingHidden)
    }

    @Test func sweepCountsPerProtocolAndFamily() {
        let sweep = BindSweep(
            outcomes: [
                PortKey(.tcp, .ipv4, 22): .inUse, PortKey(.tcp, .ipv4, 80): .notProbed("EACCES"),
                PortKey(.udp, .ipv6, 9): .error(errno: 22, message: "bind: EINVAL"),
            ],
            pairs: [.init(.tcp, .ipv4), .init(.udp, .ipv6)])
        let counts = HiddenReport.sweeps(of: sweep, portCount: 65535)
        #expect(
            counts.map { "\($0.proto.rawValue)/\($0.family.rawValue) \($0.inUse) \($0.free) \($0.notProbed) \($0.errors)" }
                == ["tcp/ipv4 1 65533 1 0", "udp/ipv6 0 65534 0 1"])
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, 23)) == .free)
        #expect(sweep.outcome(PortKey(.udp, .ipv4, 23)) == .notProbed("not swept"))
    }

    @Test func headedTableInodes() {
        let unix = Array(
            "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/a b\n0000000000000000: 00000002 00000000 00000000 0002 01 12346\n"
                .utf8)
        #expect(HiddenTableInodes.inodes(headedTable: unix) == [12345, 12346])
        let netlink = Array(
            "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n0000000000000000 0   1          00000000 0        0        0     2        0        777\n"
                .utf8)
        #expect(HiddenTableInodes.inodes(headedTable: netlink) == [777])
        #expect(HiddenTableInodes.inodes(headedTable: []).isEmpty)
    }
}
