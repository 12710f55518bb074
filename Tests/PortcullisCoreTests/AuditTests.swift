import Foundation
import Testing

@testable import PortcullisCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Builds audit inputs from sockets and owners, and a policy stand-in.
enum AuditFixtures {
    static func owner(_ pid: Int32, _ name: String, exe: String, uid: UInt32 = 0, deleted: Bool = false, replaced: Bool = false)
        -> SocketOwner
    {
        SocketOwner(
            pid: pid, ppid: 1, name: name, cmdline: exe, exe: exe, exeDeleted: deleted, exeReplaced: replaced,
            uid: uid, user: uid == 0 ? "root" : "u\(uid)", fds: [3])
    }

    static func entry(
        _ proto: TransportProtocol, _ address: String, _ port: UInt16, owners: [SocketOwner], inode: UInt64,
        reason: UnownedReason? = nil
    ) -> InventoryEntry {
        let socket = SampleInventory.socket(proto, address, port, inode: inode)
        let builder = InventoryBuilder(users: [0: "root"], ephemeralRange: 32768...60999, serviceName: { _, _ in nil })
        var entry = builder.entry(
            for: socket,
            owners: InventoryBuilder.OwnerContext(
                ownersByInode: [inode: owners], collected: true, someDenied: false, effectiveUID: 0, inChildPIDNamespace: false))
        // Owner-less fixtures count as "not permitted" unless a test asks otherwise, so they raise no unowned-socket finding.
        if owners.isEmpty { entry.unownedReason = reason ?? .notPermitted }
        return entry
    }

    static func audit(_ entries: [InventoryEntry], _ configure: (inout AuditInput) -> Void = { _ in }) -> AuditReport {
        var input = AuditInput(entries: entries, userHomes: ["/home/alice"], now: 1_795_000_000)
        configure(&input)
        return Auditor.run(input)
    }

    static func rules(_ report: AuditReport) -> [RuleID] { report.findings.map(\.rule) }
}

struct StubPolicy: AuditPolicy {
    var source = "/etc/portcullis/policy.yaml"
    var allowedPorts: Set<UInt16> = []
    var loopbackOnlyPorts: Set<UInt16> = []
    var severities: [RuleID: Severity] = [:]
    var disabled: Set<RuleID> = []
    var ignored: [RuleID: String] = [:]
    var ignoredIDs: [String: String] = [:]

    func auditDecision(for entry: InventoryEntry, exposure: Exposure) -> PolicyVerdict {
        let port = entry.socket.localPort
        if loopbackOnlyPorts.contains(port) {
            return exposure == .loopback ? .allowed(line: 6) : .exposureTooWide(allowed: .loopback, line: 7)
        }
        return allowedPorts.contains(port) ? .allowed(line: 5) : .notAllowed
    }
    func ignoreReason(rule: RuleID, entry: InventoryEntry?, now: Int64) -> String? { ignored[rule] }
    func ignoreReason(rule: RuleID, findingID: String, now: Int64) -> String? { ignoredIDs[findingID] }
    func severity(for rule: RuleID, default: Severity) -> Severity? {
        disabled.contains(rule) ? nil : (severities[rule] ?? `default`)
    }
    func expiredIgnoreNotes(now: Int64) -> [String] { ["ignore on line 12 expired on 2026-01-01"] }
}

@Suite struct AuditRuleTests {
    typealias F = AuditFixtures
    let redis = F.owner(900, "redis-server", exe: "/usr/bin/redis-server", uid: 107)

    /// A program on one of its own known ports is that port's service:
    /// snmpd's 199/tcp is SMUX (not SNMP communities), and of nmbd's sockets
    /// only the name service (137/udp) is a reflector, not the datagram
    /// service (138/udp).
    @Test func aProgramOnItsOwnSecondaryPortIsThatPortsService() throws {
        let snmpd = F.owner(700, "snmpd", exe: "/usr/sbin/snmpd", uid: 110)
        let nmbd = F.owner(701, "nmbd", exe: "/usr/sbin/nmbd")
        let report = F.audit([
            F.entry(.tcp, "0.0.0.0", 199, owners: [snmpd], inode: 1), F.entry(.udp, "0.0.0.0", 161, owners: [snmpd], inode: 2),
            F.entry(.udp, "0.0.0.0", 137, owners: [nmbd], inode: 3), F.entry(.udp, "0.0.0.0", 138, owners: [nmbd], inode: 4),
        ])
        let smux = report.findings.filter { $0.subject?.port == 199 }
        #expect(smux.map(\.rule) == [.exposedAdminAPI], "\(smux.map(\.title))")
        #expect(smux.first?.title.contains("SMUX") == true && smux.first?.remediation.contains("-I -smux") == true)
        #expect(!smux.contains { $0.title.contains("community") || $0.remediation.contains("community") })
        #expect(report.findings.contains { $0.subject?.port == 161 && $0.rule == .cleartextRemoteAccess })
        // Per socket, 161/udp is also an amplifier; the report folds that
        // into the agent's cleartext finding (one problem, one fix).
        #expect(
            report.listeners.flatMap(\.findings).filter { $0.rule == .udpAmplification }.compactMap(\.subject?.port).sorted()
                == [161, 137].sorted())
        #expect(report.findings.filter { $0.rule == .udpAmplification }.compactMap(\.subject?.port) == [137])
        #expect(PortKnowledge.facts(port: 138, proto: .udp).map(\.service) == ["netbios-dgm"])
        #expect(PortKnowledge.facts(port: 199, proto: .tcp).map(\.service) == ["smux"])
    }

    @Test func datastoreByExecutableOnAnyPort() throws {
        let report = F.audit([F.entry(.tcp, "0.0.0.0", 7777, owners: [redis], inode: 1)])
        let finding = try #require(report.findings.first { $0.rule == .exposedDatastore })
        #expect(finding.severity >= .high)
        #expect(finding.title.contains("Redis") && finding.title.contains("0.0.0.0:7777/tcp"))
        #expect(finding.evidence.contains { $0.contains("recognised by its executable") })
        #expect(finding.remediation.contains("bind"))
        #expect(finding.owners.map(\.pid) == [900])
    }

    @Test func datastoreByPortAndNotOnLoopback() {
        #expect(F.rules(F.audit([F.entry(.tcp, "::", 6379, owners: [], inode: 2)])).contains(.exposedDatastore))
        #expect(F.audit([F.entry(.tcp, "127.0.0.1", 6379, owners: [redis], inode: 3)]).findings.isEmpty)
        #expect(
            F.audit([F.entry(.tcp, "::ffff:127.0.0.1", 5432, owners: [], inode: 4)]).findings.filter { $0.rule == .exposedDatastore }
                .isEmpty)
    }

    @Test func firewallDecidesExposure() throws {
        let entry = F.entry(.tcp, "0.0.0.0", 6379, owners: [redis], inode: 5)
        let filtered = F.audit([entry]) { $0.firewall = [5: .filtered("inet filter input policy drop")] }
        #expect(!F.rules(filtered).contains(.exposedDatastore))
        #expect(filtered.listeners.first?.verdict == .filtered)
        let unknown = F.audit([entry]) { $0.firewall = [5: .unknown("vmap in chain input")] }
        let finding = try #require(unknown.findings.first { $0.rule == .exposedDatastore })
        let plain = F.audit([F.entry(.tcp, "0.0.0.0", 8081, owners: [], inode: 50)]) { $0.firewall = [50: .unknown("nft not installed")] }
        #expect(plain.listeners.first?.verdict == .open)
        #expect(plain.listeners.first?.verdictReason.contains("firewall state unknown") == true)
        #expect(finding.evidence.contains { $0.contains("firewall: unknown") && $0.contains("vmap") })
    }

    @Test func adminAPIDockerPlaintextIsCritical() throws {
        let report = F.audit([F.entry(.tcp, "0.0.0.0", 2375, owners: [F.owner(10, "dockerd", exe: "/usr/bin/dockerd")], inode: 6)])
        let finding = try #require(report.findings.first)
        #expect(finding.rule == .exposedAdminAPI && finding.severity == .critical)
    }

    @Test func cleartextRemoteAccess() {
        #expect(F.rules(F.audit([F.entry(.tcp, "0.0.0.0", 23, owners: [], inode: 7)])).contains(.cleartextRemoteAccess))
        #expect(F.rules(F.audit([F.entry(.tcp, "0.0.0.0", 5901, owners: [], inode: 8)])).contains(.cleartextRemoteAccess))
        #expect(!F.rules(F.audit([F.entry(.tcp, "127.0.0.1", 23, owners: [], inode: 9)])).contains(.cleartextRemoteAccess))
        #expect(!F.rules(F.audit([F.entry(.tcp, "0.0.0.0", 22, owners: [], inode: 10)])).contains(.cleartextRemoteAccess))
    }

    @Test func udpAmplificationOnlyOverUDPBeyondLoopback() {
        #expect(F.rules(F.audit([F.entry(.udp, "0.0.0.0", 123, owners: [], inode: 11)])).contains(.udpAmplification))
        #expect(F.rules(F.audit([F.entry(.udp, "::", 53, owners: [], inode: 12)])).contains(.udpAmplification))
        #expect(!F.rules(F.audit([F.entry(.tcp, "0.0.0.0", 53, owners: [], inode: 13)])).contains(.udpAmplification))
        #expect(!F.rules(F.audit([F.entry(.udp, "127.0.0.1", 123, owners: [], inode: 14)])).contains(.udpAmplification))
        let memcached = F.audit([F.entry(.udp, "0.0.0.0", 11211, owners: [F.owner(5, "memcached", exe: "/usr/bin/memcached")], inode: 15)])
        #expect(Set(memcached.listeners.flatMap(\.findings).map(\.rule)) == [.udpAmplification, .exposedDatastore])
        // One problem in the report: the amplification joins the exposed datastore.
        #expect(F.rules(memcached) == [.exposedDatastore])
        #expect(memcached.findings.first?.evidence.contains { $0.hasPrefix("also udp-amplification (") } == true)
    }

    @Test func executablesDeletedReplacedAndUnsafe() {
        let deleted = F.audit([
            F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(20, "srv", exe: "/usr/local/bin/srv", deleted: true)], inode: 16)
        ])
        #expect(F.rules(deleted) == [.deletedExecutable])
        let replaced = F.audit([
            F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(21, "srv", exe: "/usr/local/bin/srv", replaced: true)], inode: 17)
        ])
        #expect(F.rules(replaced) == [.replacedExecutable])
        let tmp = F.audit([F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(22, "x", exe: "/dev/shm/.x/x", uid: 1000)], inode: 18)])
        #expect(F.rules(tmp) == [.unsafeExecutableLocation])
        let homeRoot = F.audit([F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(23, "x", exe: "/home/alice/bin/x", uid: 0)], inode: 19)])
        #expect(F.rules(homeRoot) == [.unsafeExecutableLocation])
        var writable = F.owner(26, "x", exe: "/srv/shared/x", uid: 1000)
        writable.exeDirectoryWorldWritable = true
        let shared = F.audit([F.entry(.tcp, "127.0.0.1", 8080, owners: [writable], inode: 40)])
        #expect(shared.findings.first?.title.contains("every user can write to (/srv/shared)") == true)
        let homeUser = F.audit([
            F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(24, "x", exe: "/home/alice/bin/x", uid: 1000)], inode: 20)
        ])
        #expect(homeUser.findings.isEmpty)
        let homeLookalike = F.audit([
            F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(25, "x", exe: "/home/alicebob/x", uid: 0)], inode: 21)
        ])
        #expect(homeLookalike.findings.isEmpty)
        // Pre-forked holders of one executable give one finding, not one per process.
        let forked = F.audit([
            F.entry(.tcp, "127.0.0.1", 8080, owners: (30...33).map { F.owner($0, "x", exe: "/tmp/x", deleted: true) }, inode: 22)
        ])
        #expect(F.rules(forked).sorted { $0.rawValue < $1.rawValue } == [.deletedExecutable, .unsafeExecutableLocation])
    }

    @Test func backdoorPortsAreCommonlyAbusedNotProof() throws {
        let report = F.audit([F.entry(.tcp, "0.0.0.0", 31337, owners: [F.owner(40, "nc", exe: "/usr/bin/nc.openbsd")], inode: 23)])
        let finding = try #require(report.findings.first { $0.rule == .backdoorPort })
        #expect(finding.severity == .high && finding.title.contains("commonly abused"))
        #expect(finding.evidence.contains { $0.contains("not proof") })
        #expect(
            F.audit([F.entry(.tcp, "127.0.0.1", 4444, owners: [], inode: 24)]).findings.first { $0.rule == .backdoorPort }?.severity
                == .medium)
        #expect(!F.rules(F.audit([F.entry(.tcp, "0.0.0.0", 8443, owners: [], inode: 25)])).contains(.backdoorPort))
    }

    @Test func rawAndPacketSockets() {
        #expect(F.rules(F.audit([F.entry(.raw, "0.0.0.0", 1, owners: [], inode: 26)])).contains(.rawSocket))
        let sniffer = PacketSocketEntry(
            socket: PacketSocket(type: 3, ethertype: 3, interfaceIndex: 0, uid: 0, inode: 27),
            owners: [F.owner(50, "tcpdump", exe: "/usr/bin/tcpdump")], unownedReason: nil)
        let dhcp = PacketSocketEntry(
            socket: PacketSocket(type: 2, ethertype: 0x0800, interfaceIndex: 2, uid: 0, inode: 28),
            owners: [F.owner(51, "dhclient", exe: "/sbin/dhclient")], unownedReason: nil)
        let report = F.audit([]) { $0.packetSockets = [sniffer, dhcp] }
        #expect(report.findings.map(\.severity) == [.high, .info])
        #expect(report.findings[0].title.contains("tcpdump[50]"))
    }

    @Test func ephemeralListenersTCPOnly() {
        #expect(F.rules(F.audit([F.entry(.tcp, "127.0.0.1", 40000, owners: [], inode: 29)])).contains(.ephemeralListener))
        #expect(!F.rules(F.audit([F.entry(.udp, "127.0.0.1", 40000, owners: [], inode: 30)])).contains(.ephemeralListener))
        #expect(!F.rules(F.audit([F.entry(.tcp, "127.0.0.1", 30000, owners: [], inode: 31)])).contains(.ephemeralListener))
    }

    @Test func unownedSocketsAreExplainedNotAlarmed() throws {
        let unknown = F.audit([F.entry(.tcp, "127.0.0.1", 9999, owners: [], inode: 32, reason: .kernelSocket)])
        #expect(unknown.findings.first { $0.rule == .unownedSocket }?.severity == .medium)
        let nfs = F.audit([F.entry(.tcp, "0.0.0.0", 2049, owners: [], inode: 33, reason: .kernelSocket)]) {
            $0.kernelHints = KernelSocketHints(nfsServer: true)
        }
        let explained = try #require(nfs.findings.first { $0.rule == .unownedSocket })
        #expect(explained.severity == .info && explained.evidence.contains { $0.contains("nfsd") })
        let wg = F.audit([F.entry(.udp, "0.0.0.0", 51820, owners: [], inode: 34, reason: .kernelSocket)]) {
            $0.kernelHints = KernelSocketHints(wireguardInterfaces: ["wg0"])
        }
        #expect(wg.findings.first { $0.rule == .unownedSocket }?.severity == .info)
        let denied = F.audit([F.entry(.tcp, "127.0.0.1", 9999, owners: [], inode: 35, reason: .notPermitted)])
        #expect(!F.rules(denied).contains(.unownedSocket))
        let notRoot = F.audit([F.entry(.tcp, "127.0.0.1", 9999, owners: [], inode: 36, reason: .kernelSocket)]) { $0.ranAsRoot = false }
        #expect(!F.rules(notRoot).contains(.unownedSocket))
    }

    @Test func ldPreloadHints() {
        let owner = F.owner(60, "sshd", exe: "/usr/sbin/sshd")
        let report = F.audit([F.entry(.tcp, "127.0.0.1", 2222, owners: [owner], inode: 37)]) {
            $0.tamper = TamperEvidence(ldSoPreload: "/lib/libhide.so", ownPreload: "/tmp/x.so", listenerPreloads: [60: "/lib/libhide.so"])
        }
        #expect(report.findings.filter { $0.rule == .ldPreload }.count == 3)
        #expect(report.findings.allSatisfy { $0.severity == .high })
        #expect(F.audit([]).findings.isEmpty)
    }
}

@Suite struct AuditPolicyTests {
    typealias F = AuditFixtures

    @Test func notInPolicyAndExposure() {
        let entries = [
            F.entry(.tcp, "0.0.0.0", 22, owners: [], inode: 1), F.entry(.tcp, "0.0.0.0", 8080, owners: [], inode: 2),
            F.entry(.tcp, "0.0.0.0", 9000, owners: [], inode: 3), F.entry(.tcp, "0.0.0.0", 9001, owners: [], inode: 4),
        ]
        let report = F.audit(entries) {
            $0.policy = StubPolicy(allowedPorts: [22], loopbackOnlyPorts: [9000, 9001])
            $0.firewall = [4: .filtered("drop 9001")]
        }
        let policy = report.findings.filter { $0.rule == .notInPolicy }
        #expect(policy.map { $0.subject?.port } == [9000, 8080])  // worst first: too wide (high), then not allowed
        #expect(policy[0].severity == .high && policy[0].evidence.contains { $0.contains("line 7") })
        #expect(report.notes.map(\.message) == ["ignore on line 12 expired on 2026-01-01"])
    }

    @Test func allowingAListenerAcceptsItsExposureButNotItsIntegrity() throws {
        let entries = [
            F.entry(.tcp, "0.0.0.0", 6379, owners: [F.owner(9, "redis-server", exe: "/tmp/redis-server", deleted: true)], inode: 1)
        ]
        let report = F.audit(entries) { $0.policy = StubPolicy(allowedPorts: [6379]) }
        #expect(report.findings.map(\.rule).sorted { $0.rawValue < $1.rawValue } == [.deletedExecutable, .unsafeExecutableLocation])
        #expect(report.suppressed.map(\.finding.rule) == [.exposedDatastore])
        #expect(report.suppressed.first?.reason == "allowed by /etc/portcullis/policy.yaml line 5")
    }

    @Test func overridesAndIgnores() throws {
        let entries = [F.entry(.tcp, "0.0.0.0", 6379, owners: [], inode: 1), F.entry(.tcp, "127.0.0.1", 40000, owners: [], inode: 2)]
        let report = F.audit(entries) {
            $0.policy = StubPolicy(
                allowedPorts: [40000], severities: [.exposedDatastore: .low], disabled: [.ephemeralListener, .notInPolicy],
                ignored: [:])
        }
        #expect(report.findings.map(\.rule) == [.exposedDatastore])
        #expect(report.findings.first?.severity == .low)
        #expect(report.listeners.first?.verdict == .finding(.low))
        let ignored = F.audit(entries) {
            $0.policy = StubPolicy(allowedPorts: [40000], disabled: [.notInPolicy], ignored: [.exposedDatastore: "lab box"])
        }
        #expect(!ignored.findings.contains { $0.rule == .exposedDatastore })
        // The ephemeral 40000 is allowed.
        #expect(ignored.suppressed.map(\.reason) == ["lab box", "allowed by /etc/portcullis/policy.yaml line 5"])
        #expect(ignored.listeners.first { $0.entry.socket.localPort == 6379 }?.findings.isEmpty == true)
    }

    @Test func worstFirstAndVerdicts() {
        let entries = [
            F.entry(.tcp, "127.0.0.1", 631, owners: [], inode: 1), F.entry(.tcp, "0.0.0.0", 2375, owners: [], inode: 2),
            F.entry(.tcp, "0.0.0.0", 22, owners: [], inode: 3), F.entry(.tcp, "127.0.0.1", 40001, owners: [], inode: 4),
        ]
        let report = F.audit(entries)
        #expect(report.findings.map(\.severity) == report.findings.map(\.severity).sorted(by: >))
        #expect(report.listeners.map(\.verdict) == [.ok, .finding(.critical), .open, .finding(.low)])
        #expect(report.count(atLeast: .high) == 1)
    }

    /// The verdict spellings are output (JSON, NDJSON, CSV, the table): a
    /// renamed case must not change them.
    @Test func verdictSpellingsAndColours() {
        #expect(ListenerVerdict.allCases.map(\.jsonName) == ["info", "low", "medium", "high", "critical", "filtered", "open", "ok"])
        #expect(ListenerVerdict.allCases.map(\.colorCode) == [nil, "36", "33", "31", "31", "32", nil, "32"])
    }

    /// A finding subject's `proto` is output and stored in snapshots.
    @Test func subjectProtocolSpellings() {
        let known: [SubjectProtocol] = TransportProtocol.allCases.map(SubjectProtocol.transport) + [.packet]
        #expect(known.map(\.jsonName) == ["tcp", "udp", "raw", "packet"])
        #expect(known.map { SubjectProtocol(jsonName: $0.jsonName) } == known)
        #expect(SubjectProtocol(jsonName: "sctp") == .other("sctp") && SubjectProtocol.other("sctp").jsonName == "sctp")
    }
}

@Suite struct AuditRendererTests {
    typealias F = AuditFixtures

    var report: AuditReport {
        F.audit([
            F.entry(.tcp, "0.0.0.0", 6379, owners: [F.owner(900, "redis-server", exe: "/usr/bin/redis-server", uid: 107)], inode: 1),
            F.entry(.udp, "0.0.0.0", 123, owners: [F.owner(901, "ntpd", exe: "/usr/sbin/ntpd")], inode: 2),
            F.entry(.tcp, "127.0.0.1", 8080, owners: [F.owner(902, "x<&>\"", exe: "/tmp/x\\x1b", deleted: true)], inode: 3),
        ]) { $0.tamper = TamperEvidence(ldSoPreload: "/lib/x.so") }
    }

    @Test func text() throws {
        let text = OutputSink.text { AuditRenderer.writeText(report, failOn: .high, style: TableStyle(color: false), to: &$0) }
        try TestFiles.assertSnapshot(text, named: "audit.txt")
        #expect(text.hasPrefix("HIGH ("))
    }

    @Test func jsonAndNDJSON() throws {
        let json = OutputSink.text { AuditRenderer.writeJSON(report, failOn: .high, diagnostics: [], to: &$0) }
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let summary = try #require(parsed["summary"] as? [String: Any])
        #expect(summary["failed"] as? Bool == true && summary["fail_on"] as? String == "high")
        #expect((parsed["findings"] as? [Any])?.count == report.findings.count)
        #expect((parsed["listeners"] as? [[String: Any]])?.first?["verdict"] as? String != nil)
        try TestFiles.assertSnapshot(json, named: "audit.json")
        for line in OutputSink.text { AuditRenderer.writeNDJSON(report, to: &$0) }.split(separator: "\n") {
            _ = try JSONSerialization.jsonObject(with: Data(line.utf8))
        }
    }

    @Test func junitIsWellFormedXML() throws {
        let xml = OutputSink.text { AuditRenderer.writeJUnit(report, failOn: .high, to: &$0) }
        try TestFiles.assertSnapshot(xml, named: "audit.junit.xml")
        final class Counter: NSObject, XMLParserDelegate {
            var testcases = 0, failures = 0
            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]
            ) {
                if name == "testcase" { testcases += 1 }
                if name == "failure" { failures += 1 }
            }
        }
        let counter = Counter()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = counter
        #expect(parser.parse(), "JUnit output is not well-formed XML")
        #expect(counter.failures == report.findings.count && counter.testcases == report.findings.count)
        #expect(
            OutputSink.text {
                AuditRenderer.writeJUnit(AuditReport(findings: [], suppressed: [], listeners: [], notes: []), failOn: .high, to: &$0)
            }.contains(
                "no findings"))
    }
}
