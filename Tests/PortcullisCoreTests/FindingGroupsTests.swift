import Testing

@testable import PortcullisCore

/// One finding per problem: a rule and a program instance, listing every
/// socket it covers (issue 14: nmbd's six sockets were six findings).
@Suite struct FindingGroupsTests {
    typealias F = AuditFixtures

    static let lan = NetworkNamespace(inode: 4_026_531_840, name: "host", kind: .host, isOwn: true)
    static let interfaces = [
        NetworkInterface(
            index: 1, name: "lo", isLoopback: true, addresses: [InterfaceAddress(address: IPAddress(v4: 127, 0, 0, 1), prefixLength: 8)]),
        NetworkInterface(
            index: 2, name: "eth0",
            addresses: [InterfaceAddress(address: IPAddress(v4: 192, 0, 2, 2), prefixLength: 24, broadcast: IPAddress(v4: 192, 0, 2, 255))]),
    ]

    static func onLAN(_ entry: InventoryEntry) -> InventoryEntry {
        var entry = entry
        entry.namespace = lan
        return entry
    }

    /// nmbd as Debian starts it: the wildcard, the interface's address and
    /// the subnet's broadcast address, on 137 and 138.
    static var nmbdSockets: [InventoryEntry] {
        let nmbd = F.owner(611, "nmbd", exe: "/usr/sbin/nmbd")
        var out: [InventoryEntry] = []
        var inode: UInt64 = 100
        for port: UInt16 in [137, 138] {
            for address in ["0.0.0.0", "192.0.2.2", "192.0.2.255"] {
                inode += 1
                out.append(onLAN(F.entry(.udp, address, port, owners: [nmbd], inode: inode)))
            }
        }
        return out
    }

    @Test("nmbd's sockets are one amplification finding on 137 listing its three sockets; 138 is not an amplifier")
    func nmbdIsOneFinding() throws {
        let report = F.audit(Self.nmbdSockets) { $0.interfaces = [Self.lan.inode: Self.interfaces] }
        let amplification = report.findings.filter { $0.rule == .udpAmplification }
        #expect(amplification.count == 1)
        let finding = try #require(amplification.first)
        #expect(finding.sockets.map(\.localAddress) == ["0.0.0.0", "192.0.2.2", "192.0.2.255"])
        #expect(finding.sockets.allSatisfy { $0.port == 137 })
        #expect(finding.id == "udp-amplification@nmbd:0.0.0.0:137/udp")
        #expect(finding.title.contains("0.0.0.0:137/udp, 192.0.2.2:137/udp and 192.0.2.255:137/udp"))
        // One "listens on" line per socket, each saying what its address is.
        #expect(
            Array(finding.evidence.prefix(3)) == [
                "listens on 0.0.0.0:137/udp: every IPv4 address of the host",
                "listens on 192.0.2.2:137/udp: the address of eth0 (192.0.2.2/24), reachable from its network and whatever routes to it",
                "listens on 192.0.2.255:137/udp: the broadcast address of eth0's 192.0.2.0/24: it receives only that subnet's broadcasts",
            ])
        // The program's lines are not repeated per socket.
        #expect(finding.evidence.filter { $0.hasPrefix("held by nmbd[611]") }.count == 1)
        // The table keeps a verdict per socket: all six are listed, the 137 ones carry the finding.
        #expect(report.listeners.count == 6)
        for listener in report.listeners {
            #expect(listener.findings.map(\.rule).contains(.udpAmplification) == (listener.entry.socket.localPort == 137))
        }
    }

    @Test("Two instances of one program are two findings; the same program's IPv4 and IPv6 sockets are one")
    func instancesStayApart() {
        let first = F.owner(700, "dnsmasq", exe: "/usr/sbin/dnsmasq")
        let second = F.owner(701, "dnsmasq", exe: "/usr/sbin/dnsmasq")
        let report = F.audit([
            F.entry(.udp, "0.0.0.0", 53, owners: [first], inode: 1),
            F.entry(.udp, "::", 53, owners: [first], inode: 2),
            F.entry(.udp, "192.0.2.1", 53, owners: [second], inode: 3),
        ])
        let dns = report.findings.filter { $0.rule == .udpAmplification }
        #expect(dns.count == 2)
        #expect(dns.map(\.sockets.count).sorted() == [1, 2])
        #expect(Set(dns.map(\.id)) == ["udp-amplification@dnsmasq:0.0.0.0:53/udp", "udp-amplification@dnsmasq:192.0.2.1:53/udp"])
    }

    @Test("An ignore by id suppresses the merged finding and its sockets' own findings, and nothing else")
    func ignoreByID() throws {
        let report = F.audit(Self.nmbdSockets) {
            $0.policy = StubPolicy(ignoredIDs: ["udp-amplification@nmbd:0.0.0.0:137/udp": "LAN browsing needed"])
        }
        #expect(!report.findings.contains { $0.rule == .udpAmplification })
        let suppressed = try #require(report.suppressed.first { $0.finding.rule == .udpAmplification })
        #expect(suppressed.reason == "LAN browsing needed" && suppressed.finding.sockets.count == 3)
        #expect(report.listeners.allSatisfy { !$0.findings.contains { $0.rule == .udpAmplification } })
        // A real policy file: the id is parsed, and a different id covers nothing.
        let policy = try Policy.parse(
            "ignore:\n  - rule: udp-amplification\n    id: udp-amplification@nmbd:0.0.0.0:138/udp\n    reason: x\n",
            file: "p.yaml")
        let other = F.audit(Self.nmbdSockets) { $0.policy = policy }
        #expect(other.findings.filter { $0.rule == .udpAmplification }.count == 1)
    }

    @Test("Redis in a container published on every address is one finding: the listener's exposure joins the publication's")
    func publishedContainerIsOneProblem() throws {
        let container = NetworkNamespace(inode: 100, name: "cache", kind: .process)
        let redis = F.owner(77, "redis-server", exe: "/usr/bin/redis-server")
        var entry = F.entry(.tcp, "0.0.0.0", 6379, owners: [redis], inode: 9)
        entry.namespace = container
        entry.socket.netns = 100
        let publication = PortPublication(
            tool: .docker, proto: .tcp, family: .ipv4, hostAddress: nil, hostPorts: 6379...6379,
            target: PublishedTarget(address: IPAddress(v4: 172, 17, 0, 2), ports: 6379...6379))
        let report = F.audit([entry]) {
            $0.publications = [JudgedPublication(publication: publication, judgement: nil)]
            $0.targetNamespaces = [
                100: TargetNamespace(
                    name: "container cache", addresses: [IPAddress(v4: 172, 17, 0, 2)],
                    listeners: [ListeningEndpoint(proto: .tcp, address: .anyV4, port: 6379)])
            ]
        }
        #expect(report.findings.map(\.rule) == [.publishedDatastore], "\(report.findings.map(\.title))")
        let finding = try #require(report.findings.first)
        // The container's socket is listed with the published one, and its evidence kept.
        #expect(finding.sockets.map(\.inode) == [0, 9])
        #expect(finding.evidence.contains("listens on 0.0.0.0:6379/tcp: every IPv4 address of network namespace cache"))
        // The listener's own verdict stays in the table.
        #expect(report.listeners.first?.findings.map(\.rule) == [.exposedDatastore])
    }

    @Test("A client of a datastore's IPv4 socket counts for its IPv6 socket too: one finding, one verdict on clients")
    func clientsOfEitherFamily() throws {
        let redis = F.owner(90, "redis-server", exe: "/usr/bin/redis-server")
        let v4 = F.entry(.tcp, "0.0.0.0", 6379, owners: [redis], inode: 1)
        let v6 = F.entry(.tcp, "::", 6379, owners: [redis], inode: 2)
        let client = ClientSighting(
            proto: .tcp, family: .ipv4, localAddress: "0.0.0.0", localPort: 6379, peerAddress: "192.0.2.9", connections: 2)
        let report = F.audit([v4, v6]) { $0.clientsNow = [1: [client], 2: []] }
        let finding = try #require(report.findings.first { $0.rule == .exposedDatastore })
        #expect(finding.sockets.count == 2)
        #expect(finding.evidence.contains("remote clients connected now: 192.0.2.9 (2 connections)"), "\(finding.evidence)")
        #expect(!finding.evidence.contains { $0.hasPrefix("no remote client") })
    }

    @Test("dnsmasq with --local-service reflects nothing to the internet: its DNS finding is low and says why")
    func dnsmasqLocalService() throws {
        var local = F.owner(300, "dnsmasq", exe: "/usr/sbin/dnsmasq")
        local.cmdline = "/usr/sbin/dnsmasq -x /run/dnsmasq/dnsmasq.pid -u dnsmasq -7 /etc/dnsmasq.d --local-service"
        let open = F.owner(301, "dnsmasq", exe: "/usr/sbin/dnsmasq")
        let report = F.audit([
            F.entry(.udp, "0.0.0.0", 53, owners: [local], inode: 1), F.entry(.udp, "0.0.0.0", 5300, owners: [open], inode: 2),
        ])
        let dns = report.findings.filter { $0.rule == .udpAmplification }
        let lan = try #require(dns.first { $0.owners.first?.pid == 300 })
        #expect(lan.severity == .low)
        #expect(lan.evidence.contains { $0.contains("runs with --local-service") })
        #expect(dns.first { $0.owners.first?.pid == 301 }?.severity == .medium)
    }

    @Test("Two instances on the same socket (SO_REUSEPORT) get distinct ids, the younger one numbered")
    func reusePortInstances() {
        let report = F.audit([
            F.entry(.tcp, "0.0.0.0", 6379, owners: [F.owner(902, "redis-server", exe: "/usr/bin/redis-server")], inode: 2),
            F.entry(.tcp, "0.0.0.0", 6379, owners: [F.owner(901, "redis-server", exe: "/usr/bin/redis-server")], inode: 1),
        ])
        let ids = report.findings.filter { $0.rule == .exposedDatastore }.map { ($0.owners[0].pid, $0.id) }
        #expect(ids.count == 2)
        #expect(ids.first { $0.0 == 901 }?.1 == "exposed-datastore@redis-server:0.0.0.0:6379/tcp")
        #expect(ids.first { $0.0 == 902 }?.1 == "exposed-datastore@redis-server:0.0.0.0:6379/tcp#2")
    }

    @Test("The id is stable across restarts: a new pid and inode give the same id")
    func idSurvivesRestart() {
        func audit(pid: Int32, inode: UInt64) -> [String] {
            F.audit([F.entry(.tcp, "0.0.0.0", 6379, owners: [F.owner(pid, "redis-server", exe: "/usr/bin/redis-server")], inode: inode)])
                .findings.map(\.id)
        }
        #expect(audit(pid: 900, inode: 5) == audit(pid: 4711, inode: 99))
        #expect(audit(pid: 900, inode: 5) == ["exposed-datastore@redis-server:0.0.0.0:6379/tcp"])
    }

    @Test("A hostile process name gives a one-word id")
    func hostileNameInID() {
        let owner = F.owner(5, "x y\"<\u{1b}", exe: "/tmp/x")
        let finding = Finding(
            rule: .backdoorPort, severity: .high, title: "t", subject: F.audit([]).findings.first?.subject, owners: [owner], evidence: [],
            remediation: "")
        #expect(finding.id == "backdoor-port@host")
        let subject = FindingSubject(proto: .transport(.tcp), family: .ipv6, localAddress: "::", port: 31337, inode: 1, exposure: nil)
        #expect(FindingID.make(rule: .backdoorPort, owners: [owner], subject: subject) == "backdoor-port@x_y___:[::]:31337/tcp")
    }

    @Test("A socket bound to an address no interface has is described as such; without interfaces, the old sentence")
    func unknownAddress() {
        let entry = Self.onLAN(F.entry(.tcp, "198.51.100.7", 6379, owners: [], inode: 3))
        #expect(AuditRules.exposureSentence(entry, interfaces: Self.interfaces).hasPrefix("an address no interface"))
        #expect(AuditRules.exposureSentence(entry, interfaces: nil) == "a specific non-loopback address")
    }
}
