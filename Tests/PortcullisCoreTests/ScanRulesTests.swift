import Testing

@testable import PortcullisCore

/// The scan rules on constructed ports: each rule fires and does not fire,
/// what `--service` said against the port number, LAN against beyond, and
/// the severities that unauthenticated evidence brings.
@Suite("scan rules")
struct ScanRulesTests {
    static func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    /// The scanner: 10.0.0.2/24, fd00::2/64 and loopback.
    static let lan = LocalNetworks([
        .init(address: ip("127.0.0.1"), prefixLength: 8), .init(address: ip("10.0.0.2"), prefixLength: 24),
        .init(address: ip("::1"), prefixLength: 128), .init(address: ip("fd00::2"), prefixLength: 64),
    ])

    static func port(
        _ number: UInt16, _ proto: TransportProtocol = .tcp, state: ScanPortState = .open, service: ScanService? = nil
    ) -> ScanPortResult {
        ScanPortResult(
            proto: proto, port: number, state: state,
            reason: state == .open ? (proto == .tcp ? .synAck : .udpResponse) : .noResponse, service: service)
    }

    static func probed(_ name: String, product: String? = nil, unauthenticated: UnauthenticatedAccess? = nil) -> ScanService {
        ScanService(name: name, product: product, method: .probed, unauthenticated: unauthenticated)
    }

    static func judge(
        _ port: ScanPortResult, at address: String = "10.0.0.5", detection: Bool = false, networks: LocalNetworks = lan
    ) -> [Finding] {
        ScanRules.findings(
            address: ip(address), port: port, context: ScanRules.Context(localNetworks: networks, serviceDetection: detection))
    }

    static func rules(_ findings: [Finding]) -> [RuleID] { findings.map(\.rule) }

    // MARK: cleartext remote access

    @Test("Telnet open: cleartext-remote-access, about the scanned address and port, not confirmed without --service")
    func telnetByPort() throws {
        let found = Self.judge(Self.port(23))
        let finding = try #require(found.first)
        #expect(found.count == 1 && finding.rule == .cleartextRemoteAccess && finding.severity == .high)
        #expect(finding.title == "Telnet (cleartext remote access) open on 10.0.0.5:23/tcp")
        #expect(
            finding.subject
                == FindingSubject(proto: .transport(.tcp), family: .ipv4, localAddress: "10.0.0.5", port: 23, inode: 0, exposure: nil))
        #expect(finding.owners.isEmpty)
        #expect(finding.evidence.contains("port 23/tcp is Telnet's (by port number; not confirmed: run with --service)"))
        #expect(finding.evidence.contains("10.0.0.5 is on 10.0.0.0/24, a network the scanner is directly connected to"))
        #expect(finding.remediation.contains("telnet.socket"))
    }

    @Test("FTP, rexec, rlogin, rsh and VNC fire with PortKnowledge's severities; SSH and closed or filtered ports do not")
    func legacyProtocols() {
        for (number, severity) in [(21, Severity.high), (512, .high), (513, .high), (514, .critical), (5901, .high)] {
            let found = Self.judge(Self.port(UInt16(number)))
            #expect(Self.rules(found) == [.cleartextRemoteAccess] && found.first?.severity == severity, "\(number): \(found)")
        }
        #expect(Self.judge(Self.port(22)).isEmpty)
        #expect(Self.judge(Self.port(23, state: .closed)).isEmpty)
        #expect(Self.judge(Self.port(23, state: .filtered)).isEmpty)
    }

    @Test("What --service heard wins: SSH on 23 is not Telnet, telnet on 2323 is")
    func cleartextTrustsTheService() {
        #expect(Self.judge(Self.port(23, service: Self.probed("ssh", product: "OpenSSH")), detection: true).isEmpty)
        let moved = Self.judge(Self.port(2323, service: Self.probed("telnet")), detection: true)
        #expect(Self.rules(moved) == [.cleartextRemoteAccess])
        #expect(moved.first?.evidence.contains("identified by --service as telnet") == true, "\(moved)")
    }

    // MARK: datastores and control planes

    @Test("Datastores and control planes by port: Redis, memcached, MongoDB, Elasticsearch, etcd, Docker API, kubelet")
    func datastoresByPort() {
        let expected: [(UInt16, RuleID, Severity)] = [
            (6379, .exposedDatastore, .high), (11211, .exposedDatastore, .high), (27017, .exposedDatastore, .high),
            (9200, .exposedDatastore, .high), (2379, .exposedAdminAPI, .high), (2375, .exposedAdminAPI, .critical),
            (10250, .exposedAdminAPI, .high),
        ]
        for (number, rule, severity) in expected {
            let found = Self.judge(Self.port(number))
            #expect(found.count == 1 && found.first?.rule == rule && found.first?.severity == severity, "\(number): \(found)")
            #expect(found.first?.evidence.contains("unauthenticated access not confirmed: run with --service") == true)
        }
        #expect(Self.judge(Self.port(6380)).isEmpty, "no fact, no finding")
    }

    @Test("Redis on 7000 is Redis; something else on 6379 is not; HTTP on 2375 is still the Docker API")
    func serviceOverPortNumber() throws {
        let moved = Self.judge(Self.port(7000, service: Self.probed("redis", product: "Redis key-value store")), detection: true)
        #expect(moved.count == 1 && moved.first?.title == "Redis reachable on 10.0.0.5:7000/tcp", "\(moved)")
        #expect(moved.first?.evidence.contains("identified by --service as redis (Redis key-value store)") == true)
        #expect(Self.judge(Self.port(7000)).first?.title.hasPrefix("Apache Cassandra") == true, "by port alone, 7000 is Cassandra's")

        #expect(Self.judge(Self.port(6379, service: Self.probed("http", product: "nginx")), detection: true).isEmpty)
        #expect(Self.judge(Self.port(6379, service: Self.probed("ssh")), detection: true).isEmpty)

        let docker = try #require(
            Self.judge(Self.port(2375, service: Self.probed("http", product: "Docker")), detection: true).first)
        #expect(docker.rule == .exposedAdminAPI && docker.severity == .critical)
        let api = try #require(Self.judge(Self.port(9200, service: Self.probed("http")), detection: true).first)
        #expect(api.rule == .exposedDatastore && api.evidence.contains { $0.hasPrefix("answered HTTP (http) on 9200/tcp") }, "\(api)")
        // A service the table names by port, with detection on but nothing recognised: judged by the port, and said so.
        let unnamed = try #require(Self.judge(Self.port(6379, service: ScanService(name: "redis", method: .table)), detection: true).first)
        #expect(unnamed.evidence.contains { $0.contains("--service could not identify what answers") })
    }

    // MARK: unauthenticated evidence

    @Test("Redis answering without AUTH is critical; identified without that evidence it keeps PortKnowledge's high")
    func redisUnauthenticated() throws {
        let open = UnauthenticatedAccess(request: "PING", answer: "+PONG")
        let critical = try #require(
            Self.judge(Self.port(6379, service: Self.probed("redis", unauthenticated: open)), detection: true).first)
        #expect(critical.severity == .critical && critical.rule == .exposedDatastore)
        #expect(critical.title == "Redis answering without authentication on 10.0.0.5:6379/tcp")
        #expect(critical.evidence.contains("read-only request `PING` answered without credentials: +PONG"))
        let guarded = try #require(Self.judge(Self.port(6379, service: Self.probed("redis")), detection: true).first)
        #expect(guarded.severity == .high && guarded.title == "Redis reachable on 10.0.0.5:6379/tcp")
        #expect(guarded.evidence.contains { $0.hasPrefix("unauthenticated access not shown") })
        // Evidence on a port the table merely named is not the service's word: ignored.
        let tableOnly = ScanService(name: "redis", method: .table, unauthenticated: open)
        #expect(Self.judge(Self.port(6379, service: tableOnly), detection: true).first?.severity == .high)
    }

    @Test("memcached answering: high over TCP; critical over UDP, plus udp-amplification")
    func memcachedAnswering() {
        let stats = UnauthenticatedAccess(request: "version", answer: "VERSION 1.6.18")
        let tcp = Self.judge(Self.port(11211, service: Self.probed("memcached", unauthenticated: stats)), detection: true)
        #expect(tcp.count == 1 && tcp.first?.severity == .high && tcp.first?.title.contains("without authentication") == true)
        // The UDP scan's own `stats` payload got a reply: that is the evidence.
        let udp = Self.judge(Self.port(11211, .udp, service: Self.probed("memcached", product: "memcached")))
        #expect(Self.rules(udp) == [.exposedDatastore, .udpAmplification], "\(udp)")
        #expect(udp.first?.severity == .critical && udp.last?.severity == .high)
        #expect(udp.first?.title == "memcached answering without authentication on 10.0.0.5:11211/udp")
    }

    @Test("An HTTP admin page without authentication is high; the Docker API answering is critical")
    func httpWithoutAuthentication() throws {
        let page = UnauthenticatedAccess(request: "GET /manager/html", answer: "HTTP/1.1 200 OK")
        let admin = try #require(
            Self.judge(Self.port(8080, service: Self.probed("http", product: "Apache Tomcat", unauthenticated: page)), detection: true)
                .first)
        #expect(admin.rule == .exposedAdminAPI && admin.severity == .high)
        #expect(admin.title == "HTTP admin page answering without authentication on 10.0.0.5:8080/tcp")
        let version = UnauthenticatedAccess(request: "GET /version", answer: #"{"ApiVersion":"1.43"}"#)
        let docker = try #require(
            Self.judge(Self.port(2375, service: Self.probed("http", product: "Docker", unauthenticated: version)), detection: true).first)
        #expect(
            docker.severity == .critical
                && docker.title == "Docker Engine API (no TLS) answering without authentication on 10.0.0.5:2375/tcp")
        let kubelet = try #require(
            Self.judge(Self.port(10250, service: Self.probed("ssl/http", unauthenticated: page)), detection: true).first)
        #expect(kubelet.rule == .exposedAdminAPI && kubelet.severity == .high)
        #expect(Self.judge(Self.port(8080, service: Self.probed("http", product: "nginx")), detection: true).isEmpty)
        // Anonymous FTP is not a datastore: the evidence goes with the cleartext finding.
        let anonymous = UnauthenticatedAccess(request: "USER anonymous", answer: "230 Login successful.")
        let ftp = Self.judge(Self.port(21, service: Self.probed("ftp", product: "vsftpd", unauthenticated: anonymous)), detection: true)
        #expect(Self.rules(ftp) == [.cleartextRemoteAccess], "\(ftp)")
        #expect(
            ftp.first?.evidence.contains("read-only request `USER anonymous` answered without credentials: 230 Login successful.") == true)
    }

    // MARK: UDP amplifiers

    @Test("UDP amplifiers that answered: DNS, NTP, SNMP, SSDP, chargen; not when open|filtered, not over TCP")
    func amplifiers() {
        let expected: [(UInt16, [RuleID], Severity)] = [
            (53, [.udpAmplification], .medium), (123, [.udpAmplification], .medium),
            (161, [.cleartextRemoteAccess, .udpAmplification], .high), (1900, [.udpAmplification], .medium),
            (19, [.udpAmplification], .high),
        ]
        for (number, rules, severity) in expected {
            let found = Self.judge(Self.port(number, .udp))
            #expect(Self.rules(found) == rules && found.last?.severity == severity, "\(number): \(found)")
        }
        #expect(Self.judge(Self.port(53, .udp, state: .openFiltered)).isEmpty)
        #expect(ScanRules.verdict(Self.port(53, .udp, state: .openFiltered), findings: []) == nil)
        #expect(Self.judge(Self.port(53)).isEmpty, "DNS over TCP is not a reflector")
        let dns = Self.judge(Self.port(53, .udp, service: Self.probed("domain", product: "dnsmasq")), detection: true)
        #expect(
            Self.rules(dns) == [.udpAmplification] && dns.first?.evidence.contains("identified by --service as domain (dnsmasq)") == true)
    }

    // MARK: file sharing and the LAN

    @Test("SMB and NetBIOS: a finding beyond the scanner's LAN, none on it, a finding saying so when the networks are unknown")
    func fileSharingBeyondTheLAN() throws {
        #expect(Self.judge(Self.port(445), at: "10.0.0.5").isEmpty)
        #expect(Self.judge(Self.port(445), at: "fd00::5").isEmpty)
        #expect(Self.judge(Self.port(445), at: "fe80::5").isEmpty, "link-local is on a link by definition")
        let beyond = try #require(Self.judge(Self.port(445), at: "192.0.2.7").first)
        #expect(beyond.rule == .exposedFileSharing && beyond.severity == .high)
        #expect(beyond.title == "SMB / CIFS reachable from beyond its LAN on 192.0.2.7:445/tcp")
        #expect(beyond.evidence.contains("192.0.2.7 is beyond the scanner's directly connected networks (reached through a router)"))
        let v6 = try #require(Self.judge(Self.port(445), at: "2001:db8::7").first)
        #expect(v6.subject?.family == .ipv6 && v6.title.hasSuffix("[2001:db8::7]:445/tcp"))
        let netbios = Self.judge(Self.port(139), at: "198.51.100.1")
        #expect(Self.rules(netbios) == [.exposedFileSharing] && netbios.first?.severity == .medium)
        let unknown = try #require(Self.judge(Self.port(445), at: "10.0.0.5", networks: .unknown).first)
        #expect(unknown.evidence.contains { $0.hasPrefix("the scanner's own networks could not be read") })
        // NetBIOS name service over UDP on the LAN: no file-sharing finding, but it still answers as a reflector.
        #expect(Self.rules(Self.judge(Self.port(137, .udp), at: "10.0.0.5")) == [.udpAmplification])
    }

    @Test("Placement: the narrowest network holding the target; IPv4-mapped addresses count as IPv4")
    func placement() {
        let networks = LocalNetworks([
            .init(address: Self.ip("10.0.0.2"), prefixLength: 8), .init(address: Self.ip("10.1.2.3"), prefixLength: 24),
        ])
        #expect(networks.placement(of: Self.ip("10.1.2.200")) == .onLink("10.1.2.0/24"))
        #expect(networks.placement(of: Self.ip("10.9.9.9")) == .onLink("10.0.0.0/8"))
        #expect(networks.placement(of: Self.ip("::ffff:10.1.2.9")) == .onLink("10.1.2.0/24"))
        #expect(networks.placement(of: Self.ip("11.0.0.1")) == .beyond)
        #expect(LocalNetworks.unknown.placement(of: Self.ip("11.0.0.1")) == .unknown)
        #expect(LocalNetworks.Network(address: Self.ip("10.0.0.1"), prefixLength: 99).prefixLength == 32)
    }

    // MARK: the whole report

    @Test("apply: verdicts on open ports only, findings worst first then host and port order, count(atLeast:)")
    func applyToReport() {
        let first = ScanHostResult(
            address: Self.ip("10.0.0.5"),
            ports: [Self.port(22), Self.port(23), Self.port(80, state: .closed), Self.port(6379)])
        let second = ScanHostResult(
            address: Self.ip("10.0.0.9"),
            ports: [
                Self.port(
                    6379,
                    service: Self.probed("redis", unauthenticated: UnauthenticatedAccess(request: "PING", answer: "+PONG"))),
                Self.port(53, .udp, state: .openFiltered),
            ])
        var report = ScanReport(hosts: [first, second], startTime: 0, endTime: 0, durationMilliseconds: 0, arguments: [])
        ScanRules.apply(to: &report, context: ScanRules.Context(localNetworks: Self.lan, serviceDetection: true))
        #expect(report.hosts[0].ports.map(\.verdict) == [.open, .finding(.high), nil, .finding(.high)])
        #expect(report.hosts[1].ports.map(\.verdict) == [.finding(.critical), nil])
        #expect(
            report.findings.map { "\($0.severity) \($0.subject?.localAddress ?? "") \($0.subject?.port ?? 0) \($0.rule.rawValue)" } == [
                "critical 10.0.0.9 6379 exposed-datastore", "high 10.0.0.5 23 cleartext-remote-access",
                "high 10.0.0.5 6379 exposed-datastore",
            ])
        #expect(report.count(atLeast: .critical) == 1 && report.count(atLeast: .high) == 3 && report.count(atLeast: .info) == 3)
        // Judging again gives the same findings in the same order: ids and order are stable.
        var again = report
        ScanRules.apply(to: &again, context: ScanRules.Context(localNetworks: Self.lan, serviceDetection: true))
        #expect(again.findings == report.findings)
    }
}

@Suite("NETLINK_ROUTE address prefixes")
struct RouteNetlinkPrefixTests {
    @Test("Each address comes with its ifa_prefixlen as a directly connected network")
    func prefixes() throws {
        var v4 = RouteNetlinkWireTests.newAddress(family: 2, attributes: [(2, [10, 0, 0, 1])])
        v4[17] = 24
        var v6 = RouteNetlinkWireTests.newAddress(family: 10, attributes: [(1, [0xfd] + Array(repeating: 0, count: 14) + [2])])
        v6[17] = 64
        let reply = RouteNetlinkWire.decode(v4 + v6)
        #expect(reply.networks.map(\.description) == ["10.0.0.0/24", "fd00::/64"])
        #expect(LocalNetworks(reply.networks).placement(of: try #require(IPAddress(parsing: "10.0.0.77"))) == .onLink("10.0.0.0/24"))
    }
}
