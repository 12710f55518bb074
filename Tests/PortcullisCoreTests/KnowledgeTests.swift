import Foundation
import Testing

@testable import PortcullisCore

/// Real lines from Debian's /etc/services (netbase), tabs kept, plus
/// malformed lines that must be skipped without disturbing the rest.
let etcServicesSample = """
    # Network services, Internet style
    #
    # Updated from https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.xhtml .

    tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer
    echo\t\t7/tcp
    echo\t\t7/udp
    discard\t\t9/tcp\t\tsink null
    discard\t\t9/udp\t\tsink null
    ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol
    telnet\t\t23/tcp
    smtp\t\t25/tcp\t\tmail
    domain\t\t53/tcp\t\t\t\t# Domain Name Server
    domain\t\t53/udp
    http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP
    kerberos\t88/tcp\t\tkerberos5 krb5 kerberos-sec\t# Kerberos v5
    kerberos\t88/udp\t\tkerberos5 krb5 kerberos-sec\t# Kerberos v5
    pop3\t\t110/tcp\t\tpop-3\t\t# POP version 3
    sunrpc\t\t111/tcp\t\tportmapper\t# RPC 4.0 portmapper
    sunrpc\t\t111/udp\t\tportmapper
    ntp\t\t123/udp\t\t\t\t# Network Time Protocol
    snmp\t\t161/tcp\t\t\t\t# Simple Net Mgmt Protocol
    snmp\t\t161/udp
    microsoft-ds\t445/tcp\t\t\t\t# Microsoft Naked CIFS
    mysql\t\t3306/tcp
    postgresql\t5432/tcp\tpostgres\t# PostgreSQL Database
    mdns\t\t5353/udp\t\t\t# Multicast DNS
    amqp\t\t5672/tcp
    amqp\t\t5672/sctp
    x11\t\t6000/tcp\tx11-0\t\t# X Window System
    x11-1\t\t6001/tcp
    redis\t\t6379/tcp
    afs3-fileserver 7000/udp
    http-alt\t8080/tcp\twebcache\t# WWW caching service
    rtmp\t\t1/ddp\t\t\t# Routing Table Maintenance Protocol
    echo\t\t4/ddp\t\t\t# AppleTalk Echo Protocol
    ircd\t\t6667/tcp\t\t\t# Internet Relay Chat
       \t
    nameonly
    badport\t\t70000/tcp
    noslash\t\t22tcp
    negative\t-1/tcp
    emptyproto\t22/
    \t# indented comment
    ssh-dup\t\t22/tcp\t\t\t\t# a second name for 22/tcp must not win
    crlf\t\t9999/tcp\r
    """

/// Real lines from nmap-services (nmap 7.9x), including `unknown` entries,
/// an sctp entry, and names that differ from /etc/services on the same port.
let nmapServicesSample = """
    # Fields in this file are: Service name, portnum/protocol, open-frequency, optional comments
    #
    unknown\t4/tcp\t0.000477
    ssh\t22/sctp\t0.000000\t# Secure Shell Login | The Secure Shell (SSH) Protocol
    ssh\t22/tcp\t0.182286\t# Secure Shell Login
    ssh\t22/udp\t0.003905\t# Secure Shell Login
    telnet\t23/tcp\t0.221265
    telnet\t23/udp\t0.006211
    domain\t53/tcp\t0.048463\t# Domain Name Server
    domain\t53/udp\t0.213496\t# Domain Name Server
    http\t80/sctp\t0.000000\t# www-http | www | World Wide Web HTTP
    http\t80/tcp\t0.484143\t# World Wide Web HTTP
    http\t80/udp\t0.035767\t# World Wide Web HTTP
    ntp\t123/tcp\t0.000138\t# Network Time Protocol
    ntp\t123/udp\t0.330879\t# Network Time Protocol
    snmp\t161/tcp\t0.000790
    snmp\t161/udp\t0.433467\t# Simple Net Mgmt Proto
    microsoft-ds\t445/tcp\t0.056944\t# SMB directly over IP
    microsoft-ds\t445/udp\t0.253118
    ipp\t631/tcp\t0.006160\t# ipps | Internet Printing Protocol
    ipp\t631/udp\t0.450281\t# Internet Printing Protocol
    upnp\t1900/tcp\t0.003977\t# ssdp | Universal PnP | SSDP
    upnp\t1900/udp\t0.136543\t# Universal PnP
    docker\t2375/tcp\t0.000076\t# docker.com | Docker REST API (plain text)
    ms-wbt-server\t3389/tcp\t0.083904\t# Microsoft Remote Display Protocol (aka ms-term-serv, microsoft-rdp) | MS WBT Server
    ms-wbt-server\t3389/udp\t0.004955\t# Microsoft Remote Display Protocol (aka ms-term-serv, microsoft-rdp)
    mdns\t5353/tcp\t0.000152\t# Multicast DNS
    zeroconf\t5353/udp\t0.100166\t# Mac OS X Bonjour/Zeroconf port
    x11\t6010/tcp\t0.000076\t# X Window System
    x11\t6010/udp\t0.000000\t# X Window System
    redis\t6379/tcp\t0.000076\t# An advanced key-value cache and store
    http-proxy\t8080/tcp\t0.042052\t# http-alt | Common HTTP proxy/second web server port | HTTP Alternate (see port 80)
    http-alt\t8080/udp\t0.000000\t# HTTP Alternate (see port 80)
    memcache\t11211/tcp\t0.000000\t# Memory cache service
    memcache\t11211/udp\t0.000000\t# Memory cache service
    mongod\t27017/tcp\t0.000076\t# mongodb | http://docs.mongodb.org/manual/reference/default-mongodb-port/ | Mongo database system
    unknown\t27017/udp\t0.001307
    mongod\t27018/tcp\t0.000076\t# http://docs.mongodb.org/manual/reference/default-mongodb-port/
    unknown\t27018/udp\t0.000654
    nofreq\t12/tcp
    badfreq\t13/tcp\t0.1.2
    """

@Suite struct KnowledgeServiceTableTests {
    let table = ServiceTable(etcServices: etcServicesSample, nmapServices: nmapServicesSample)

    @Test func namesFromEtcServices() {
        #expect(table.name(port: 22, proto: .tcp) == "ssh")
        #expect(table.name(port: 53, proto: .udp) == "domain")
        #expect(table.name(port: 6000, proto: .tcp) == "x11")
        #expect(table.name(port: 7000, proto: .udp) == "afs3-fileserver")  // space-separated line
        #expect(table.name(port: 9999, proto: .tcp) == "crlf")  // CRLF line ending
        #expect(table.name(port: 25, proto: .udp) == nil)
        #expect(table.name(port: 6379, proto: .raw) == nil)
    }

    @Test func firstEntryWinsLikeGetservbyport() {
        #expect(table.name(port: 22, proto: .tcp) == "ssh")
        #expect(table.ports(named: "ssh-dup").map(\.port) == [22])
    }

    @Test func unsupportedProtocolsAreSkippedSilently() {
        // 1/ddp is rtmp, 4/ddp is AppleTalk echo: neither may leak into tcp/udp.
        #expect(table.name(port: 1, proto: .tcp) == "tcpmux")
        #expect(table.name(port: 1, proto: .udp) == nil)
        #expect(table.ports(named: "rtmp").isEmpty)
        #expect(!table.diagnostics.contains { $0.message.contains("rtmp") || $0.message.contains("sctp") })
    }

    @Test func malformedLinesAreSkippedAndReported() {
        let etcOnly = ServiceTable(etcServices: etcServicesSample)
        #expect(etcOnly.ports(named: "badport").isEmpty)
        #expect(etcOnly.ports(named: "noslash").isEmpty)
        #expect(etcOnly.ports(named: "negative").isEmpty)
        #expect(etcOnly.ports(named: "nameonly").isEmpty)
        let reported = etcOnly.diagnostics.map(\.message)
        #expect(reported.count == 5)
        #expect(reported.contains { $0.hasPrefix("/etc/services:") && $0.contains("badport") })
        #expect(table.diagnostics.contains { $0.message.contains("nofreq") })
        #expect(table.diagnostics.contains { $0.message.contains("badfreq") })
    }

    @Test func garbageNeverCrashes() {
        let inputs: [[UInt8]] = [
            [], [0x0a], [0x23], [0x2f], Array("x 1/".utf8), Array("x /tcp".utf8), Array("x 65536/tcp".utf8),
            Array("x 99999999999999999999/tcp".utf8), [0xff, 0xfe, 0x20, 0x31, 0x2f, 0x74, 0x63, 0x70],
            Array("esc\u{1b}[31m 5/tcp".utf8), (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) },
        ]
        for bytes in inputs {
            let t = ServiceTable(etcServices: bytes, nmapServices: bytes)
            #expect(t.name(port: 5, proto: .tcp) == nil)
            _ = t.topPorts(10, proto: .tcp)
        }
        // A diagnostic flood from a binary file is capped.
        let junk = [UInt8](repeating: 0x21, count: 10) + [0x0a]
        let flood = ServiceTable(etcServices: Array([[UInt8]](repeating: junk, count: 1000).joined()))
        #expect(flood.diagnostics.count == ServiceTable.diagnosticLimit + 1)
    }

    @Test func highPortAndInvalidUTF8() {
        let t = ServiceTable(etcServices: Array("top\t65535/udp\nz\u{e9}ro\t0/tcp\n".utf8) + [0xff, 0x09] + Array("1/udp\n".utf8))
        #expect(t.name(port: 65535, proto: .udp) == "top")
        #expect(t.name(port: 0, proto: .tcp) == "zéro")
        #expect(t.name(port: 1, proto: .udp) == "\u{fffd}")  // repaired, not dropped
    }

    @Test func stringAndBytesInitsAgree() {
        let fromBytes = ServiceTable(etcServices: Array(etcServicesSample.utf8), nmapServices: Array(nmapServicesSample.utf8))
        for port: UInt16 in [1, 7, 22, 53, 80, 2375, 5353, 6379, 8080, 11211, 27017] {
            for proto in TransportProtocol.allCases {
                #expect(fromBytes.name(port: port, proto: proto) == table.name(port: port, proto: proto))
            }
        }
        #expect(fromBytes.topPorts(20, proto: .tcp) == table.topPorts(20, proto: .tcp))
    }

    @Test func nmapFillsGapsButEtcWins() {
        #expect(table.name(port: 2375, proto: .tcp) == "docker")
        #expect(table.name(port: 11211, proto: .udp) == "memcache")
        #expect(table.name(port: 3389, proto: .tcp) == "ms-wbt-server")
        // Same port, different names: /etc/services wins.
        #expect(table.name(port: 8080, proto: .tcp) == "http-alt")
        #expect(table.name(port: 5353, proto: .udp) == "mdns")
        // Gaps /etc/services leaves for a protocol are filled from nmap.
        #expect(table.name(port: 22, proto: .udp) == "ssh")
        #expect(table.name(port: 5353, proto: .tcp) == "mdns")
    }

    @Test func nmapUnknownIsNeverAName() {
        #expect(table.name(port: 4, proto: .tcp) == nil)
        #expect(table.name(port: 27017, proto: .udp) == nil)
        #expect(table.name(port: 27017, proto: .tcp) == "mongod")
        #expect(table.ports(named: "unknown").isEmpty)
    }

    @Test func portsByNameAliasAndCase() {
        #expect(table.ports(named: "www").map(\.port) == [80])
        #expect(table.ports(named: "KRB5").map { "\($0.port)/\($0.proto.rawValue)" } == ["88/tcp", "88/udp"])
        #expect(table.ports(named: "Postgres").map(\.port) == [5432])
        #expect(table.ports(named: "portmapper").count == 2)
        #expect(table.ports(named: "domain").map { "\($0.port)/\($0.proto.rawValue)" } == ["53/tcp", "53/udp"])
        #expect(table.ports(named: "").isEmpty)
        #expect(table.ports(named: "nosuchservice").isEmpty)
    }

    @Test func portsByNameFromNmap() {
        #expect(table.ports(named: "mongod").map(\.port) == [27017, 27018])
        #expect(table.ports(named: "mongod", includeNmap: false).isEmpty)
        // nmap's alternative name for 8080/tcp is searchable even though etc names the port.
        #expect(table.ports(named: "http-proxy").map(\.port) == [8080])
        #expect(table.ports(named: "x11").map(\.port) == [6000, 6010, 6010])
    }

    @Test func topPortsFollowOpenFrequency() {
        #expect(table.topPorts(8, proto: .tcp) == [80, 23, 22, 3389, 445, 53, 8080, 631])
        #expect(table.topPorts(7, proto: .udp) == [631, 161, 123, 445, 53, 1900, 5353])
        // `unknown` entries count (as with nmap --top-ports); ties go by port.
        let all = table.topPorts(100, proto: .tcp)
        #expect(all.contains(4))
        #expect(Array(all[13..<18]) == [2375, 6010, 6379, 27017, 27018])
        #expect(Set(all).count == all.count)
        #expect(table.topPorts(0, proto: .tcp).isEmpty)
        #expect(table.topPorts(5, proto: .raw).isEmpty)
    }

    @Test func topPortsWithoutNmapUseEtcServicesOrder() {
        let etcOnly = ServiceTable(etcServices: etcServicesSample)
        #expect(!etcOnly.hasNmapData)
        #expect(etcOnly.topPorts(5, proto: .udp) == [7, 9, 53, 88, 111])
    }

    /// The machine's own files, when present: they must parse cleanly and fast.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/etc/services")))
    func realFilesParse() throws {
        let etc = try Data(contentsOf: URL(fileURLWithPath: "/etc/services"))
        let nmap = FileManager.default.contents(atPath: "/usr/share/nmap/nmap-services")
        let t = ServiceTable(etcServices: [UInt8](etc), nmapServices: nmap.map { [UInt8]($0) })
        #expect(t.diagnostics.isEmpty, "\(t.diagnostics)")
        #expect(t.name(port: 22, proto: .tcp) == "ssh")
        if nmap != nil {
            #expect(t.topPorts(3, proto: .tcp) == [80, 23, 443])
        }
    }
}

@Suite struct KnowledgeTests {
    @Test func serviceIdsAreUnique() {
        var seen = Set<String>()
        for fact in PortKnowledge.facts {
            #expect(seen.insert(fact.service).inserted, "duplicate service id \(fact.service)")
        }
    }

    @Test func factsAreWellFormed() {
        for fact in PortKnowledge.facts {
            #expect(!fact.ports.isEmpty, "\(fact.service)")
            #expect(!fact.protocols.isEmpty && !fact.protocols.contains(.raw), "\(fact.service)")
            #expect(!fact.title.isEmpty && !fact.commonlyRunsHere.isEmpty, "\(fact.service)")
            #expect(fact.service == fact.service.lowercased() && !fact.service.contains(" "), "\(fact.service)")
            #expect(
                !fact.executables.contains("java") && !fact.executables.contains("node")
                    && !fact.executables.contains("python3") && !fact.executables.contains("beam.smp"),
                "\(fact.service) names a generic interpreter as its executable")
        }
    }

    @Test func riskyCategoriesHaveNotes() {
        let risky: Set<PortCategory> = [
            .datastore, .adminAPI, .cleartextRemoteAccess, .remoteAccess, .amplification, .fileSharing, .backdoor,
        ]
        for fact in PortKnowledge.facts where risky.contains(fact.category) {
            #expect(!fact.securityNotes.isEmpty, "\(fact.service) has no security notes")
            #expect(fact.securityNotes.allSatisfy { !$0.isEmpty })
            if fact.severityHint >= .high && fact.category != .backdoor {
                #expect(fact.remediation != nil, "\(fact.service) is \(fact.severityHint) without a remediation")
            }
        }
    }

    @Test func backdoorNotesNeverClaimProof() {
        for fact in PortKnowledge.facts where fact.isIn(.backdoor) {
            let text = ([fact.commonlyRunsHere] + fact.securityNotes).joined(separator: " ").lowercased()
            #expect(!text.contains("proves") && !text.contains("is proof"), "\(fact.service)")
        }
    }

    @Test func requiredPortsAreCovered() {
        let required: [(UInt16, TransportProtocol)] = [
            (7, .udp), (9, .tcp), (13, .udp), (19, .udp), (20, .tcp), (21, .tcp), (22, .tcp), (23, .tcp),
            (25, .tcp), (587, .tcp), (53, .udp), (69, .udp), (80, .tcp), (443, .tcp), (8080, .tcp), (8443, .tcp),
            (110, .tcp), (143, .tcp), (123, .udp), (137, .udp), (138, .udp), (139, .tcp), (445, .tcp),
            (161, .udp), (162, .udp), (389, .tcp), (389, .udp), (512, .tcp), (513, .tcp), (514, .tcp),
            (111, .tcp), (2049, .tcp), (3389, .tcp), (5800, .tcp), (5900, .tcp), (5906, .tcp), (6000, .tcp),
            (6063, .tcp), (6379, .tcp), (11211, .tcp), (11211, .udp), (27017, .tcp), (27019, .tcp),
            (9200, .tcp), (9300, .tcp), (5432, .tcp), (3306, .tcp), (5984, .tcp), (9042, .tcp), (7000, .tcp),
            (7199, .tcp), (2379, .tcp), (2380, .tcp), (5672, .tcp), (15672, .tcp), (2375, .tcp), (2376, .tcp),
            (10250, .tcp), (10255, .tcp), (6443, .tcp), (9090, .tcp), (9100, .tcp), (9500, .tcp), (3000, .tcp),
            (1900, .udp), (5353, .udp), (2181, .tcp), (9092, .tcp), (8500, .tcp), (8888, .tcp), (9870, .tcp),
            (50070, .tcp), (5601, .tcp), (31337, .udp), (12345, .tcp), (12346, .tcp), (4444, .tcp),
            (1524, .tcp), (5554, .tcp), (9996, .tcp), (27374, .tcp), (6667, .tcp),
        ]
        for (port, proto) in required {
            #expect(!PortKnowledge.facts(port: port, proto: proto).isEmpty, "nothing known about \(port)/\(proto.rawValue)")
        }
    }

    @Test func lookupByPortRespectsProtocol() {
        #expect(PortKnowledge.facts(port: 6379, proto: .tcp).map(\.service) == ["redis"])
        #expect(PortKnowledge.facts(port: 6379, proto: .udp).isEmpty)
        #expect(PortKnowledge.facts(port: 6379, proto: .raw).isEmpty)
        #expect(PortKnowledge.facts(port: 514, proto: .tcp).map(\.service) == ["rsh"])
        #expect(PortKnowledge.facts(port: 514, proto: .udp).map(\.service) == ["syslog"])
        #expect(PortKnowledge.facts(port: 389, proto: .udp).map(\.service) == ["cldap"])
        #expect(PortKnowledge.facts(port: 11211, proto: .udp).first?.isIn(.amplification) == true)
        #expect(PortKnowledge.facts(port: 40000, proto: .tcp).isEmpty)
    }

    @Test func specificFactsComeBeforeConventions() {
        #expect(PortKnowledge.facts(port: 9200, proto: .tcp).map(\.service) == ["elasticsearch", "prometheus-exporter"])
        #expect(PortKnowledge.facts(port: 9100, proto: .tcp).map(\.service) == ["node-exporter", "prometheus-exporter"])
        #expect(PortKnowledge.facts(port: 3128, proto: .tcp).map(\.service) == ["proxy", "mydoom"])
        let exporter = PortKnowledge.facts(port: 9555, proto: .tcp)
        #expect(exporter.map(\.service) == ["prometheus-exporter"])
        #expect(exporter.first?.confidence == .low)
    }

    @Test func dockerPlaintextAPIIsCritical() throws {
        let docker = try #require(PortKnowledge.facts(port: 2375, proto: .tcp).first)
        #expect(docker.service == "docker")
        #expect(docker.severityHint == .critical)
        #expect(docker.category == .adminAPI)
        let tls = try #require(PortKnowledge.facts(port: 2376, proto: .tcp).first)
        #expect(tls.severityHint < .critical)
    }

    @Test func lookupByName() {
        #expect(PortKnowledge.facts(named: "REDIS").map(\.service) == ["redis"])
        #expect(PortKnowledge.facts(named: "MariaDB").map(\.service) == ["mysql"])  // alias
        #expect(PortKnowledge.facts(named: "mariadbd").map(\.service) == ["mysql"])  // executable
        #expect(PortKnowledge.facts(named: "Telnet").map(\.service) == ["telnet"])  // title
        #expect(PortKnowledge.facts(named: "kubelet").map(\.service) == ["kubelet", "kubelet-readonly"])
        #expect(PortKnowledge.facts(named: "").isEmpty)
        #expect(PortKnowledge.facts(named: "nosuchservice").isEmpty)
    }

    @Test func lookupByExecutable() {
        #expect(PortKnowledge.facts(executable: "redis-server").map(\.service) == ["redis"])
        #expect(PortKnowledge.facts(executable: "memcached").map(\.service) == ["memcached"])
        #expect(PortKnowledge.facts(executable: "mongod").map(\.service) == ["mongodb"])
        #expect(PortKnowledge.facts(executable: "dockerd").map(\.service) == ["docker", "docker-tls"])
        #expect(PortKnowledge.facts(executable: "postgres").map(\.service) == ["postgresql"])
        // /proc/PID/comm is cut to 15 bytes.
        #expect(PortKnowledge.facts(executable: "prometheus-node").map(\.service) == ["node-exporter"])
        #expect(PortKnowledge.facts(executable: "systemd-resolve").map(\.service) == ["dns", "mdns", "llmnr"])
        // A shorter prefix is not a truncated comm and must not match.
        #expect(PortKnowledge.facts(executable: "redis").isEmpty)
        #expect(PortKnowledge.facts(executable: "java").isEmpty)
        #expect(PortKnowledge.facts(executable: "").isEmpty)
    }

    /// The bit per port that skips the lookup agrees with the index, for
    /// every TCP and UDP port.
    @Test func portBitsMatchTheIndex() {
        for proto in [TransportProtocol.tcp, .udp] {
            for port in 0...65535 {
                let indexed = PortKnowledge.index.byPort[PortKnowledge.Key(port: UInt16(port), proto: proto)] ?? []
                if PortKnowledge.facts(port: UInt16(port), proto: proto).map(\.service) != indexed.map({ PortKnowledge.facts[$0].service })
                {
                    Issue.record("\(proto)/\(port)")
                }
            }
        }
        #expect(PortKnowledge.facts(port: 22, proto: .raw).isEmpty)
    }

    /// The executable index answers as a scan of the whole table does: for
    /// every name in the table, each comm-length prefix of one, and near misses.
    @Test func executableIndexMatchesAScanOfTheTable() {
        func scanned(_ executable: String) -> [String] {
            guard !executable.isEmpty else { return [] }
            let truncated = executable.utf8.count == PortKnowledge.commLength
            return PortKnowledge.facts.filter { fact in
                fact.executables.contains { candidate in
                    candidate == executable
                        || (truncated && candidate.utf8.count > PortKnowledge.commLength && candidate.utf8.starts(with: executable.utf8))
                }
            }.map(\.service)
        }
        var names: Set<String> = ["", "x", "java", "prometheus-nodeX"]
        for fact in PortKnowledge.facts {
            for name in fact.executables {
                names.insert(name)
                names.insert(String(decoding: name.utf8.prefix(PortKnowledge.commLength), as: UTF8.self))
                names.insert(String(name.dropLast()))
                names.insert(name + "d")
            }
        }
        for name in names {
            #expect(PortKnowledge.facts(executable: name).map(\.service) == scanned(name), "\(name)")
        }
    }

    @Test func ephemeralBackdoorPortsSayWhyTheyMayBeInnocent() throws {
        let bo2k = try #require(PortKnowledge.facts(port: 54321, proto: .udp).first)
        #expect(bo2k.category == .backdoor)
        #expect(bo2k.securityNotes.contains { $0.contains("ephemeral") })
    }
}

@Suite struct KnowledgeExplainTests {
    let services = ServiceTable(etcServices: etcServicesSample, nmapServices: nmapServicesSample)
    let linuxDefault: ClosedRange<UInt16> = 32768...60999

    @Test func explainPortNumber() throws {
        let reports = try ExplainReport.build(query: "22", services: services, ephemeralRange: linuxDefault)
        #expect(reports.count == 1)
        let r = try #require(reports.first)
        #expect(r.port == 22)
        #expect(r.portClass == .system)
        #expect(r.tcpService == "ssh")
        #expect(r.udpService == "ssh")  // from nmap-services
        #expect(r.inEphemeralRange == false)
        #expect(r.facts.map(\.service) == ["ssh"])
    }

    @Test func explainName() throws {
        let reports = try ExplainReport.build(query: "redis", services: services, ephemeralRange: nil)
        #expect(reports.map(\.port) == [6379])
        #expect(reports.first?.tcpService == "redis")
        #expect(reports.first?.inEphemeralRange == nil)
        #expect(reports.first?.facts.first?.service == "redis")
        #expect(reports.first?.portClass == .registered)
    }

    @Test func explainNameMergesTableAndKnowledge() throws {
        // "telnet" is in /etc/services; "mongodb" is only in the knowledge table,
        // whose 27017-27019 range is small enough to list in full.
        #expect(try ExplainReport.build(query: " Telnet ", services: services, ephemeralRange: nil).map(\.port) == [23])
        #expect(try ExplainReport.build(query: "mongodb", services: services, ephemeralRange: nil).map(\.port) == [27017, 27018, 27019])
        // "x11": /etc/services' 6000, not nmap's 6010+, and not all 64 ports of the knowledge range.
        #expect(try ExplainReport.build(query: "x11", services: services, ephemeralRange: nil).map(\.port) == [6000])
        // Only nmap knows "memcache": it is used when /etc/services has nothing.
        #expect(try ExplainReport.build(query: "memcache", services: services, ephemeralRange: nil).map(\.port) == [11211])
        // An executable name works too.
        #expect(try ExplainReport.build(query: "dockerd", services: services, ephemeralRange: nil).map(\.port) == [2375, 2376])
    }

    @Test func explainFactsCoverBothProtocols() throws {
        let r = try #require(ExplainReport.build(query: "514", services: services, ephemeralRange: nil).first)
        #expect(r.facts.map(\.service) == ["rsh", "syslog"])
        let m = try #require(ExplainReport.build(query: "11211", services: services, ephemeralRange: nil).first)
        #expect(m.facts.map(\.service) == ["memcached"])
        #expect(m.tcpService == "memcache" && m.udpService == "memcache")
    }

    @Test func explainPortInEphemeralRange() throws {
        let r = try #require(ExplainReport.build(query: "54321", services: services, ephemeralRange: linuxDefault).first)
        #expect(r.inEphemeralRange == true)
        #expect(r.portClass == .dynamic)
        #expect(r.facts.first?.service == "back-orifice-2000")
        let edge = try #require(ExplainReport.build(query: "60999", services: services, ephemeralRange: linuxDefault).first)
        #expect(edge.inEphemeralRange == true)
        #expect(edge.facts.isEmpty)
        #expect(try ExplainReport.build(query: "61000", services: services, ephemeralRange: linuxDefault).first?.inEphemeralRange == false)
        #expect(try ExplainReport.build(query: "0", services: services, ephemeralRange: nil).first?.port == 0)
        #expect(try ExplainReport.build(query: "65535", services: services, ephemeralRange: nil).first?.port == 65535)
    }

    @Test func explainOutOfRange() {
        #expect(throws: ExplainError.portOutOfRange("70000")) {
            try ExplainReport.build(query: "70000", services: services, ephemeralRange: nil)
        }
        #expect(ExplainError.portOutOfRange("70000").description == "port 70000 is out of range: ports are 0-65535")
        #expect(throws: ExplainError.portOutOfRange("99999999999999999999999")) {
            try ExplainReport.build(query: "99999999999999999999999", services: services, ephemeralRange: nil)
        }
        #expect(throws: ExplainError.portOutOfRange("-1")) {
            try ExplainReport.build(query: "-1", services: services, ephemeralRange: nil)
        }
    }

    @Test func explainEmpty() {
        for query in ["", "   ", "\t\n"] {
            #expect(throws: ExplainError.emptyQuery) {
                try ExplainReport.build(query: query, services: services, ephemeralRange: nil)
            }
        }
    }

    @Test func explainUnknownName() {
        #expect(throws: ExplainError.unknownName("nosuchservice")) {
            try ExplainReport.build(query: "nosuchservice", services: services, ephemeralRange: nil)
        }
        #expect(
            ExplainError.unknownName("foo").description
                == "no service named 'foo' in /etc/services, nmap-services or portcullis's knowledge table")
        // Control characters typed or pasted by the user are shown escaped.
        #expect(ExplainError.unknownName("a\u{1b}[2J").description.contains("a\\x1b[2J"))
    }
}

/// The knowledge table names each port for what it is, and a program on one
/// of its own secondary ports is judged as that port's service, not as its
/// main one (the pattern of 138/udp and 199/tcp, applied to the rest).
@Suite struct KnowledgeTableTests {
    typealias F = AuditFixtures

    func rules(_ proto: TransportProtocol, _ port: UInt16, _ name: String, exe: String) -> [RuleID] {
        F.rules(F.audit([F.entry(proto, "0.0.0.0", port, owners: [F.owner(300, name, exe: exe)], inode: 1)]))
    }

    /// 323/udp is chrony's command port: no NTP, no amplifier.
    @Test func chronyCommandPortIsNotNTP() throws {
        let fact = try #require(PortKnowledge.facts(port: 323, proto: .udp).first)
        #expect(fact.service == "chrony-cmd" && !fact.isIn(.amplification) && fact.executables == ["chronyd"])
        #expect(rules(.udp, 323, "chronyd", exe: "/usr/sbin/chronyd") == [.exposedAdminAPI])
    }

    /// systemd-resolved on 5355 is LLMNR, not DNS over UDP.
    @Test func llmnrIsNotDNS() throws {
        #expect(PortKnowledge.facts(port: 5355, proto: .udp).map(\.service) == ["llmnr"])
        #expect(PortKnowledge.facts(port: 5355, proto: .tcp).map(\.service) == ["llmnr"])
        #expect(rules(.udp, 5355, "systemd-resolve", exe: "/usr/lib/systemd/systemd-resolved").isEmpty)
        #expect(PortKnowledge.facts(port: 5353, proto: .udp).first?.title == "Multicast DNS (mDNS)")
    }

    /// dnsmasq's DHCP socket is DHCP, and its TFTP socket TFTP (with dnsmasq's fix).
    @Test func dnsmasqSecondaryPorts() throws {
        #expect(PortKnowledge.facts(port: 67, proto: .udp).map(\.service) == ["dhcp"])
        #expect(PortKnowledge.facts(port: 547, proto: .udp).map(\.service) == ["dhcpv6"])
        #expect(rules(.udp, 67, "dnsmasq", exe: "/usr/sbin/dnsmasq").isEmpty)
        #expect(rules(.udp, 547, "dnsmasq", exe: "/usr/sbin/dnsmasq").isEmpty)
        let tftp = F.audit([F.entry(.udp, "0.0.0.0", 69, owners: [F.owner(301, "dnsmasq", exe: "/usr/sbin/dnsmasq")], inode: 1)])
        let finding = try #require(tftp.findings.first)
        #expect(tftp.findings.map(\.rule) == [.cleartextRemoteAccess] && finding.title.hasPrefix("TFTP"))
        #expect(finding.remediation.contains("enable-tftp"))
    }

    /// The SNMP agent (161) and the trap receiver (162) are two services; only the agent reflects.
    @Test func snmpTrapsAreNotTheAgent() throws {
        #expect(PortKnowledge.facts(port: 161, proto: .udp).first?.title == "SNMP agent")
        let trap = try #require(PortKnowledge.facts(port: 162, proto: .udp).first)
        #expect(trap.service == "snmp-trap" && !trap.isIn(.amplification))
        #expect(rules(.udp, 162, "snmptrapd", exe: "/usr/sbin/snmptrapd").isEmpty)
        #expect(PortKnowledge.facts(executable: "snmpd").map(\.service) == ["snmp", "smux"])
    }

    /// 587 is submission with STARTTLS, 465 submission over implicit TLS.
    @Test func submissionPortsAreNamedApart() {
        #expect(PortKnowledge.facts(port: 587, proto: .tcp).map(\.service) == ["submission"])
        #expect(PortKnowledge.facts(port: 465, proto: .tcp).map(\.service) == ["submissions"])
        #expect(PortKnowledge.facts(named: "smtps").map(\.service) == ["submissions"])
        #expect(PortKnowledge.facts(port: 25, proto: .tcp).first?.title == "SMTP")
    }

    /// 631/tcp is IPP (cupsd); 631/udp is cups-browsed, the CVE-2024-47176 listener.
    @Test func cupsPorts() throws {
        let ipp = try #require(PortKnowledge.facts(port: 631, proto: .tcp).first)
        #expect(ipp.service == "ipp" && ipp.executables == ["cupsd"] && !ipp.isIn(.amplification))
        let browsing = try #require(PortKnowledge.facts(port: 631, proto: .udp).first)
        #expect(browsing.service == "cups-browsing" && browsing.executables == ["cups-browsed"])
        #expect(rules(.udp, 631, "cups-browsed", exe: "/usr/sbin/cups-browsed") == [.udpAmplification])
        #expect(rules(.tcp, 631, "cupsd", exe: "/usr/sbin/cupsd").isEmpty)
    }

    /// Datastores that had no fact: InfluxDB and ClickHouse, by port and executable.
    @Test func influxAndClickHouse() {
        #expect(PortKnowledge.facts(port: 8086, proto: .tcp).map(\.service) == ["influxdb"])
        #expect(PortKnowledge.facts(executable: "influxd").map(\.service) == ["influxdb"])
        #expect(PortKnowledge.facts(port: 8123, proto: .tcp).map(\.service) == ["clickhouse"])
        #expect(PortKnowledge.facts(executable: "clickhouse-serv").map(\.service) == ["clickhouse"])
        #expect(rules(.tcp, 9000, "clickhouse-serv", exe: "/usr/bin/clickhouse") == [.exposedDatastore])
    }

    /// Every port named in the table's NetBIOS, rpcbind, NFS and datastore entries keeps its name.
    @Test func wellKnownTitles() {
        let titles: [(UInt16, TransportProtocol, String)] = [
            (111, .udp, "rpcbind (portmapper)"), (2049, .tcp, "NFS"), (3306, .tcp, "MySQL / MariaDB"), (11211, .udp, "memcached"),
            (6379, .tcp, "Redis"), (137, .udp, "NetBIOS name service (NetBIOS-NS)"), (199, .tcp, "SMUX (SNMP multiplexer)"),
        ]
        for (port, proto, title) in titles {
            #expect(PortKnowledge.facts(port: port, proto: proto).first?.title == title, "\(port)/\(proto.rawValue)")
        }
    }
}
