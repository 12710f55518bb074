import Testing

@testable import PortcullisCore

@Suite struct ScanRendererTests {
    /// 30 closed ports, 2 open (one with a probed TLS service), 3 filtered, 1 UDP open|filtered.
    func report() -> ScanReport {
        var ports = (1...30).map { ScanPortResult(proto: .tcp, port: UInt16(1000 + $0), state: .closed, reason: .connRefused) }
        ports.append(
            ScanPortResult(
                proto: .tcp, port: 22, state: .open, reason: .synAck, rttMicroseconds: 80,
                service: ScanService(name: "ssh", product: "OpenSSH", version: "9.2p1", banner: "SSH-2.0-OpenSSH_9.2p1", method: .probed)))
        let tls = TLSDetails(
            version: "TLSv1.2", cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", subject: "CN=<host>", issuer: "CN=<host>",
            notBefore: 0, notAfter: 86400, selfSigned: true, expired: true)
        ports.append(
            ScanPortResult(
                proto: .tcp, port: 443, state: .open, reason: .synAck, service: ScanService(name: "https", method: .probed, tls: tls)))
        ports += [7, 8, 9].map { ScanPortResult(proto: .tcp, port: $0, state: .filtered, reason: .noResponse) }
        ports.append(ScanPortResult(proto: .udp, port: 53, state: .openFiltered, reason: .noResponse))
        ports.sort { ($0.proto.rawValue, $0.port) < ($1.proto.rawValue, $1.port) }
        let host = ScanHostResult(address: IPAddress(v4: 10, 0, 0, 1), hostname: "db&1", ports: ports)
        return ScanReport(
            hosts: [host], startTime: 1_795_761_507, endTime: 1_795_761_509, durationMilliseconds: 1234,
            arguments: ["portcullis", "scan", "-p", "1-2000", "db&1"])
    }

    @Test func moreThan25PortsOfOneStateAreSummarised() {
        let (shown, notShown) = ScanRenderer.split(report().hosts[0])
        #expect(notShown.count == 1 && notShown[0].state == .closed && notShown[0].count == 30)
        #expect(notShown[0].reasons.map(\.count) == [30])
        #expect(shown.map(\.port) == [7, 8, 9, 22, 443, 53])
    }

    @Test func textListsPortsAndSummarisesTheRest() {
        let text = OutputSink.text { ScanRenderer.writeText(report(), style: TableStyle(color: false), to: &$0) }
        #expect(text.contains("Scan report for db&1 (10.0.0.1)\n"))
        #expect(text.contains("Not shown: 30 closed (30 tcp conn-refused)"))
        #expect(text.contains("22/tcp") && text.contains("OpenSSH 9.2p1"))
        #expect(
            text.contains(
                "TLSv1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, subject CN=<host>, expires 1970-01-02T00:00:00Z, EXPIRED, self-signed"))
        #expect(text.hasSuffix("1 host scanned (1 up), 36 ports in 1.23 s: 2 open, 30 closed, 3 filtered, 1 open|filtered\n"))
    }

    @Test func jsonCarriesTheDocumentedFields() {
        let json = ScanRenderer.json(report()).serialized()
        #expect(
            json.hasPrefix(
                #"{"summary":{"hosts":1,"hosts_up":1,"ports":{"open":2,"closed":30,"filtered":3,"open|filtered":1,"unknown":0},"start":"2026-11-27T06:38:27Z","duration_ms":1234,"findings":{"critical":0,"high":0,"medium":0,"low":0,"info":0}},"hosts":[{"address":"10.0.0.1","zone":null,"family":"ipv4","hostname":"db&1","up":true,"status":null,"counts":"#
            ))
        #expect(
            json.contains(
                #"{"proto":"tcp","port":22,"state":"open","reason":"syn-ack","detail":null,"rtt_us":80,"service":{"name":"ssh","product":"OpenSSH","version":"9.2p1","extra_info":null,"banner":"SSH-2.0-OpenSSH_9.2p1","method":"probed","tls":null,"unauthenticated":null},"verdict":null}"#
            ))
        #expect(
            json.contains(#""not_shown":[{"state":"closed","count":30,"reasons":[{"proto":"tcp","reason":"conn-refused","count":30}]}]"#))
        #expect(json.contains(#""self_signed":true,"expired":true"#))
        let tail = OutputSink.text { ScanRenderer.writeNDJSONTail(report(), to: &$0) }.split(separator: "\n")
        #expect(
            tail.count == 2 && tail[0].hasPrefix(#"{"type":"host","address":"10.0.0.1""#)
                && tail[1].hasPrefix(#"{"type":"summary","hosts":1"#))
        let line = OutputSink.text {
            ScanRenderer.writeNDJSONPort(host: IPAddress(v4: 10, 0, 0, 1), hostname: nil, report().hosts[0].ports[3], to: &$0)
        }
        #expect(
            line.hasPrefix(#"{"type":"port","address":"10.0.0.1","zone":null,"hostname":null,"proto":"tcp","port":22,"state":"open""#)
                && line.hasSuffix("}\n"))
        let scoped = OutputSink.text {
            ScanRenderer.writeNDJSONPort(
                host: IPAddress(parsing: "fe80::1")!, hostname: nil, zone: "eth0", report().hosts[0].ports[3], to: &$0)
        }
        #expect(scoped.hasPrefix(#"{"type":"port","address":"fe80::1","zone":"eth0","hostname":null,"#))
    }

    /// Extra info as nmap prints it, and what answered without credentials, in every format.
    @Test func extraInfoAndUnauthenticatedAccess() {
        let service = ScanService(
            name: "redis", product: "Redis key-value store", version: "7.0.15", extraInfo: "a&b", banner: "+PONG", method: .probed,
            unauthenticated: UnauthenticatedAccess(request: "PING", answer: "+PONG"))
        let port = ScanPortResult(proto: .tcp, port: 6379, state: .open, reason: .synAck, service: service)
        let json = JSONValue.object(ScanRenderer.json(port)).serialized()
        #expect(json.contains(#""version":"7.0.15","extra_info":"a&b","banner":"+PONG""#))
        #expect(json.contains(#""unauthenticated":{"request":"PING","answer":"+PONG"}"#))
        #expect(ScanRenderer.versionText(service) == "Redis key-value store 7.0.15 (a&b); no authentication: PING -> +PONG")
        #expect(ScanXML.service(port, tableName: "redis").contains(#"version="7.0.15" extrainfo="a&amp;b""#))
        let ssh = ScanService(
            name: "ssh", product: "OpenSSH", version: "9.2p1 Debian 2+deb12u10", extraInfo: "protocol 2.0", method: .probed)
        #expect(ScanRenderer.versionText(ssh) == "OpenSSH 9.2p1 Debian 2+deb12u10 (protocol 2.0)", "nmap's VERSION column")
    }

    /// A garbage banner is cut in the table's VERSION column, never inside
    /// an escape, and kept whole in the JSON.
    @Test func garbageBannerIsCutInTheTableAndWholeInTheJSON() throws {
        let raw = [UInt8]("\u{1b}[2J".utf8) + (0..<156).map { UInt8(0x80 + $0 % 0x7f) }
        let banner = try #require(ServiceMatch.banner(raw))
        #expect(banner.unicodeScalars.count > 400, "escaped, the banner is hundreds of characters")
        let service = ScanService(name: "unknown", banner: banner, method: .probed)
        let cell = ScanRenderer.versionText(service, partWidth: ScanRenderer.versionPartWidth)
        #expect(cell.unicodeScalars.count <= ScanRenderer.versionPartWidth && cell.hasSuffix("…"))
        #expect(banner.hasPrefix(String(cell.dropLast())))
        #expect((cell.unicodeScalars.count - 1 - 7) % 4 == 0, "cut between two escapes: \(cell)")
        let port = ScanPortResult(proto: .tcp, port: 4444, state: .open, reason: .synAck, service: service)
        var report = report()
        report.hosts[0].ports.append(port)
        let text = OutputSink.text { ScanRenderer.writeText(report, style: TableStyle(color: false), to: &$0) }
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("4444/tcp") })
        #expect(row.contains(cell) && !row.contains(banner))
        #expect(JSONValue.object(ScanRenderer.json(port)).serialized().contains(JSONValue.string(banner).serialized()))
        // Escapes are kept whole or dropped whole.
        #expect(ScanRenderer.cut(#"ab\x1bcd"#, width: 4) == "ab…")
        #expect(ScanRenderer.cut(#"ab\x1bcd"#, width: 7) == #"ab\x1b…"#)
        #expect(ScanRenderer.cut(#"a\u{85}bcdef"#, width: 5) == "a…")
        #expect(ScanRenderer.cut(#"a\u{85}bcdef"#, width: 9) == #"a\u{85}b…"#)
        #expect(ScanRenderer.cut("short", width: 5) == "short")
        // Legitimate TLS notes are not cut: only what the service sent is.
        let tls = ScanRenderer.versionText(report.hosts[0].ports.first { $0.port == 443 }?.service, partWidth: 60)
        #expect(tls.hasSuffix("self-signed"))
    }

    @Test func nmapXMLHasNmapsStructureAndEscapes() {
        let xml = ScanXML.document(report(), tcpPorts: Array(1...2000), udpPorts: [53], version: "0.1.0") { port, _ in
            port == 22 ? "ssh" : nil
        }
        #expect(
            xml.contains(
                #"<nmaprun scanner="portcullis" args="portcullis scan -p 1-2000 db&amp;1" start="1795761507" startstr="Fri Nov 27 06:38:27 2026" version="0.1.0" xmloutputversion="1.05">"#
            ))
        #expect(xml.contains(#"<scaninfo type="connect" protocol="tcp" numservices="2000" services="1-2000"/>"#))
        #expect(xml.contains(#"<scaninfo type="udp" protocol="udp" numservices="1" services="53"/>"#))
        #expect(xml.contains(#"<hostname name="db&amp;1" type="user"/>"#))
        #expect(xml.contains(#"<extraports state="closed" count="30">"#))
        #expect(xml.contains(#"<extrareasons reason="conn-refused" count="30" proto="tcp" ports="1001-1030"/>"#))
        #expect(
            xml.contains(
                #"<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ssh" product="OpenSSH" version="9.2p1" method="probed" conf="10"/></port>"#
            ))
        #expect(xml.contains(#"<port protocol="tcp" portid="7"><state state="filtered" reason="no-response" reason_ttl="0"/></port>"#))
        #expect(xml.contains(#"<service name="https" method="probed" conf="10" tunnel="ssl"/>"#) == false)
        #expect(xml.contains(#"<service name="https" tunnel="ssl" method="probed" conf="10"/>"#))
        #expect(xml.contains(#"<hosts up="1" down="0" total="1"/>"#) && xml.hasSuffix("</nmaprun>\n"))
    }

    /// The report above with Redis answering without AUTH on 6379 and
    /// telnet on 23, judged by the scan rules.
    func judgedReport() -> ScanReport {
        var report = report()
        report.hosts[0].ports += [
            ScanPortResult(proto: .tcp, port: 23, state: .open, reason: .synAck),
            ScanPortResult(
                proto: .tcp, port: 6379, state: .open, reason: .synAck,
                service: ScanService(
                    name: "redis", product: "Redis key-value store", method: .probed,
                    unauthenticated: UnauthenticatedAccess(request: "PING", answer: "+PONG"))),
        ]
        let lan = LocalNetworks([.init(address: IPAddress(v4: 10, 0, 0, 2), prefixLength: 24)])
        ScanRules.apply(to: &report, context: ScanRules.Context(localNetworks: lan, serviceDetection: true))
        return report
    }

    @Test func textHasAVerdictColumnAndAFindingsSection() {
        let text = OutputSink.text { ScanRenderer.writeText(judgedReport(), failOn: .high, style: TableStyle(color: false), to: &$0) }
        let rows = text.split(separator: "\n")
        func row(_ port: String) -> Substring? { rows.first { $0.hasPrefix(port + " ") } }
        #expect(row("PORT")?.hasSuffix(" REASON       VERDICT") == true, "\(text)")
        #expect(row("22/tcp")?.hasSuffix(" syn-ack      open") == true, "ssh: open, no finding")
        #expect(row("6379/tcp")?.hasSuffix(" critical") == true && row("23/tcp")?.hasSuffix(" high") == true)
        #expect(row("7/tcp")?.hasSuffix("no-response  ") == true, "a filtered port has no verdict")
        #expect(
            text.contains("Findings\nCRITICAL (1)\n  [exposed-datastore] Redis answering without authentication on 10.0.0.1:6379/tcp\n"))
        #expect(text.contains("HIGH (1)\n  [cleartext-remote-access] Telnet (cleartext remote access) open on 10.0.0.1:23/tcp\n"))
        #expect(text.contains("      fix: Set `bind 127.0.0.1 -::1`"))
        #expect(text.contains("2 findings (1 critical, 1 high); 2 at or above high\n1 host scanned"))
        // The verdict is painted with the overview's colours, and only the verdict cell.
        let colored = OutputSink.text { ScanRenderer.writeText(judgedReport(), style: TableStyle(color: true), to: &$0) }
        #expect(colored.contains("\u{1b}[31mcritical\u{1b}[0m") && colored.contains("\u{1b}[31mhigh\u{1b}[0m"))
        // Nothing judged (the rules did not run): no Findings section.
        let plain = OutputSink.text { ScanRenderer.writeText(report(), style: TableStyle(color: false), to: &$0) }
        #expect(!plain.contains("Findings") && !plain.contains("No findings"))
    }

    @Test func jsonAndNDJSONCarryVerdictsAndFindings() {
        let json = ScanRenderer.json(judgedReport()).serialized()
        #expect(json.contains(#""findings":{"critical":1,"high":1,"medium":0,"low":0,"info":0}"#))
        #expect(json.contains(#""port":22,"state":"open","#) && json.contains(#""unauthenticated":null},"verdict":"open"}"#))
        #expect(
            json.contains(
                #""port":53,"state":"open|filtered","reason":"no-response","detail":null,"rtt_us":null,"service":null,"verdict":null}"#))
        #expect(
            json.contains(
                #""findings":[{"id":"exposed-datastore@10.0.0.1:6379/tcp","rule":"exposed-datastore","severity":"critical","title":"Redis answering without authentication on 10.0.0.1:6379/tcp","subject":{"proto":"tcp","family":"ipv4","local_address":"10.0.0.1","local_port":6379,"inode":0,"exposure":null},"sockets":[{"proto":"tcp","family":"ipv4","local_address":"10.0.0.1","local_port":6379,"inode":0,"exposure":null}],"owners":[],"evidence":["#
            ), "\(json)")
        #expect(json.contains(#"{"id":"cleartext-remote-access@10.0.0.1:23/tcp","rule":"cleartext-remote-access","severity":"high""#))
        let lines = OutputSink.text { ScanRenderer.writeNDJSONTail(judgedReport(), openPorts: true, to: &$0) }.split(separator: "\n")
        #expect(
            lines.map { $0.prefix(14) } == [
                #"{"type":"port""#, #"{"type":"port""#, #"{"type":"port""#, #"{"type":"port""#,
                #"{"type":"findi"#, #"{"type":"findi"#, #"{"type":"host""#, #"{"type":"summa"#,
            ], "\(lines)")
        #expect(lines[0].contains(#""port":22,"#) && lines[0].hasSuffix(#""verdict":"open"}"#))
        #expect(lines[4].hasPrefix(#"{"type":"finding","id":"exposed-datastore@"#))
        #expect(lines[4].contains(#""rule":"exposed-datastore","severity":"critical""#))
        #expect(OutputSink.text { ScanRenderer.writeNDJSONTail(judgedReport(), to: &$0) }.split(separator: "\n").count == 4)
    }

    @Test func junitHasAFailurePerFindingAndAPassPerCleanOpenPort() {
        let xml = OutputSink.text { ScanRenderer.writeJUnit(judgedReport(), to: &$0) }
        #expect(xml.contains(#"<testsuite name="portcullis scan" tests="4" failures="2" errors="0" skipped="0">"#), "\(xml)")
        #expect(xml.contains(#"<testcase classname="portcullis.ok" name="10.0.0.1:22/tcp"/>"#))
        #expect(xml.contains(#"<testcase classname="portcullis.ok" name="10.0.0.1:443/tcp"/>"#))
        #expect(xml.contains(#"<testcase classname="portcullis.exposed-datastore" name="critical: tcp 10.0.0.1:6379">"#))
        #expect(
            xml.contains(#"<failure type="cleartext-remote-access" message="Telnet (cleartext remote access) open on 10.0.0.1:23/tcp">"#))
        var empty = report()
        empty.hosts[0].ports.removeAll { $0.state == .open }
        let none = OutputSink.text { ScanRenderer.writeJUnit(empty, to: &$0) }
        #expect(none.contains(#"<testcase classname="portcullis.scan" name="no findings"/>"#) && none.contains(#"tests="1" failures="0""#))
    }

    @Test func portRangesAndCtime() {
        #expect(ScanXML.ranges([5, 1, 2, 3, 9, 8, 2]) == "1-3,5,8-9")
        #expect(ScanXML.ranges([]) == "")
        #expect(ScanXML.ctime(0) == "Thu Jan  1 00:00:00 1970")
    }
}

@Suite struct ScanDiscoveryRenderingTests {
    /// Three hosts: one up by ARP (MAC, vendor), two down.
    func report() -> ScanReport {
        let up = ScanHostResult(
            address: IPAddress(v4: 10, 81, 0, 10),
            status: HostStatus(up: true, reason: .arpResponse, macAddress: "52:54:00:12:34:56", vendor: "QEMU & co", rttMicroseconds: 210),
            ports: [ScanPortResult(proto: .tcp, port: 22, state: .open, reason: .synAck)])
        let down = ScanHostResult(address: IPAddress(v4: 10, 81, 0, 11), status: HostStatus(up: false, reason: .noResponse))
        let down2 = ScanHostResult(address: IPAddress(v4: 10, 81, 0, 12), status: HostStatus(up: false, reason: .noResponse))
        return ScanReport(
            hosts: [up, down, down2], startTime: 1_795_761_507, endTime: 1_795_761_509, durationMilliseconds: 410,
            arguments: ["portcullis", "scan"])
    }

    @Test func latencyHasTwoSignificantDigitsAsNmapPrints() {
        #expect(ScanRenderer.latency(210) == "0.00021s")
        #expect(ScanRenderer.latency(12_345) == "0.012s")
        #expect(ScanRenderer.latency(5) == "0.0000050s")
        #expect(ScanRenderer.latency(1_500_000) == "1.5s")
        #expect(ScanRenderer.latency(999_600) == "1.0s")
        #expect(ScanRenderer.latency(12_000_000) == "12s")
    }

    @Test func textShowsTheHostLineAndCountsDownHosts() {
        let text = OutputSink.text { ScanRenderer.writeText(report(), style: TableStyle(color: false), to: &$0) }
        #expect(
            text.contains("Scan report for 10.81.0.10\nHost is up (arp-response, 0.00021s latency), MAC 52:54:00:12:34:56 (QEMU & co)\n"))
        #expect(!text.contains("10.81.0.11") && !text.contains("10.81.0.12"))
        #expect(text.contains("2 hosts down"))
        #expect(text.contains("3 hosts scanned (1 up), 1 port in 0.41 s: 1 open"))
        var discoverOnly = report()
        discoverOnly.hosts[0].ports = []
        #expect(ScanRenderer.summaryLine(discoverOnly) == "3 hosts discovered (1 up) in 0.41 s")
        #expect(ScanRenderer.hostLine(HostStatus(up: true, reason: .userSet)) == nil)
        #expect(
            ScanRenderer.hostLine(HostStatus(up: true, reason: .localhostResponse, rttMicroseconds: 0)) == "Host is up (localhost-response)"
        )
    }

    @Test func jsonAndXMLCarryTheStatus() {
        let json = ScanRenderer.json(report()).serialized()
        #expect(
            json.contains(
                #""up":true,"status":{"up":true,"reason":"arp-response","mac":"52:54:00:12:34:56","vendor":"QEMU & co","rtt_us":210}"#))
        #expect(json.contains(#""up":false,"status":{"up":false,"reason":"no-response","mac":null,"vendor":null,"rtt_us":null},"#))
        let xml = ScanXML.document(report(), tcpPorts: [22], udpPorts: [], version: "test") { _, _ in nil }
        #expect(xml.contains(#"<status state="up" reason="arp-response" reason_ttl="0"/>"#))
        #expect(xml.contains(#"<address addr="52:54:00:12:34:56" addrtype="mac" vendor="QEMU &amp; co"/>"#))
        #expect(xml.contains(#"<status state="down" reason="no-response" reason_ttl="0"/>"#))
        #expect(xml.contains(#"<hosts up="1" down="2" total="3"/>"#))
    }
}
