import PortcullisCore
import Testing

/// Hex with spaces, newlines and `#` comments, as the fixtures below are written.
func hexBytes(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n") {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for word in code.split(separator: " ") { out.append(UInt8(word, radix: 16)!) }
    }
    return out
}

@Suite struct DNSMessageTests {
    /// The reply a recursive resolver gives for `www.github.com A`: a CNAME
    /// whose owner points at the question (c0 0c) and whose target points
    /// into the question (c0 10, "github.com"), then the A record owned by
    /// that same pointer. Laid out byte for byte as RFC 1035 4.1 describes.
    static let githubReply = hexBytes(
        """
        8f 2a 81 80 00 01 00 02 00 00 00 00   # ID 8f2a; QR RD RA, NOERROR; 1 question, 2 answers
        03 77 77 77 06 67 69 74 68 75 62 03 63 6f 6d 00   # offset 12: www.github.com
        00 01 00 01                           # QTYPE A, QCLASS IN
        c0 0c 00 05 00 01 00 00 0e 10 00 02 c0 10         # offset 32: www.github.com CNAME (ttl 3600) -> offset 16
        c0 10 00 01 00 01 00 00 00 3c 00 04 8c 52 79 03   # offset 46: github.com A (ttl 60) 140.82.121.3
        """)

    static let aaaaReply = hexBytes(
        """
        12 34 81 80 00 01 00 01 00 00 00 00
        07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 1c 00 01     # example.com AAAA IN
        c0 0c 00 1c 00 01 00 00 0e 10 00 10                     # example.com AAAA (ttl 3600), 16 bytes
        26 06 28 00 02 20 00 01 02 48 18 93 25 c8 19 46         # 2606:2800:220:1:248:1893:25c8:1946
        """)

    /// NXDOMAIN with the zone's SOA in the authority section (left unparsed).
    static let nxdomainReply = hexBytes(
        """
        be ef 81 83 00 01 00 00 00 01 00 00   # QR RD RA, RCODE 3; 0 answers, 1 authority
        07 6e 6f 74 68 65 72 65 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01   # nothere.example.com A IN
        c0 14 00 06 00 01 00 00 0e 10 00 18   # example.com SOA, 24 bytes
        c0 14 c0 14 78 4e 2a 01 00 00 1c 20 00 00 0e 10 00 12 75 00 00 00 0e 10
        """)

    @Test func readsACNAMEChainWithCompressionPointers() throws {
        let message = try DNSMessage(parsing: Self.githubReply)
        #expect(message.id == 0x8f2a && message.isResponse && !message.isTruncated && message.recursionAvailable)
        #expect(message.responseCode == .noError && message.responseCode.description == "NOERROR")
        #expect(message.questions == [DNSQuestion(name: "www.github.com", type: .a)])
        #expect(
            message.answers == [
                DNSRecord(name: "www.github.com", type: .cname, ttl: 3600, data: .name("github.com")),
                DNSRecord(name: "github.com", type: .a, ttl: 60, data: .address(IPAddress(v4: 140, 82, 121, 3))),
            ])
        let (addresses, canonical) = message.addresses(for: "WWW.GitHub.com.", type: .a)
        #expect(addresses == [IPAddress(v4: 140, 82, 121, 3)] && canonical == "github.com")
        #expect(message.addresses(for: "www.github.com", type: .aaaa).addresses.isEmpty)
        #expect(message.answersQuestion(name: "www.GITHUB.com", type: .a))
        #expect(!message.answersQuestion(name: "www.github.com", type: .aaaa))
        #expect(!message.answersQuestion(name: "github.com", type: .a))
    }

    @Test func readsAAAA() throws {
        let message = try DNSMessage(parsing: Self.aaaaReply)
        #expect(message.addresses(for: "example.com", type: .aaaa).addresses == [IPAddress(parsing: "2606:2800:220:1:248:1893:25c8:1946")!])
    }

    @Test func readsNXDOMAIN() throws {
        let message = try DNSMessage(parsing: Self.nxdomainReply)
        #expect(message.responseCode == .nameError && message.responseCode.description == "NXDOMAIN")
        #expect(message.answers.isEmpty && message.questions.first?.name == "nothere.example.com")
        #expect(DNSResponseCode.serverFailure.description == "SERVFAIL" && DNSResponseCode.refused.description == "REFUSED")
        #expect(DNSResponseCode(rawValue: 9).description == "RCODE 9")
    }

    @Test func truncatedRepliesKeepTheCompleteRecords() throws {
        // TC set, 3 answers announced, the datagram cut inside the second.
        var bytes = Self.githubReply
        bytes[2] = 0x83
        bytes[7] = 3
        bytes = Array(bytes[..<52])
        let message = try DNSMessage(parsing: bytes)
        #expect(message.isTruncated && message.answers.count == 1)
        // Without TC, the same cut is an error that says where.
        bytes[2] = 0x81
        #expect(throws: DNSError("answer 2 TTL at byte 52 runs past the end of the 52-byte message")) { try DNSMessage(parsing: bytes) }
    }

    @Test(arguments: [
        ("12 34 81 80 00", "DNS header: the message is 5 bytes, shorter than the 12-byte header"),
        (
            "12 34 81 80 00 01 00 00 00 00 00 00  c0 0e 00 01 00 01",
            "question 1 QNAME at byte 12: compression pointer at byte 12 points to byte 14, not backwards"
        ),
        (
            "12 34 81 80 00 01 00 00 00 00 00 00  c0 0c",
            "question 1 QNAME at byte 12: compression pointer at byte 12 points to byte 12, not backwards"
        ),
        (
            "12 34 81 80 00 01 00 00 00 00 00 00  05 61 62",
            "question 1 QNAME at byte 12 runs past the end of the 15-byte message"
        ),
        (
            "12 34 81 80 00 01 00 00 00 00 00 00  41 61",
            "question 1 QNAME at byte 12: label type 0x1 at byte 12 is not a length or a compression pointer"
        ),
        (
            "12 34 81 80 00 01 00 00 00 00 00 00  01 61 00 00 01",
            "question 1 QCLASS at byte 17 runs past the end of the 17-byte message"
        ),
        (
            "12 34 81 80 00 01 00 01 00 00 00 00  01 61 00 00 01 00 01  c0 0c 00 01 00 01 00 00 00 3c 00 05 01 02 03 04 05",
            "answer 1 A RDATA at byte 31 is 5 bytes; an A record has 4"
        ),
        (
            "12 34 81 80 00 01 00 01 00 00 00 00  01 61 00 00 01 00 01  c0 0c 00 01 00 01 00 00 00 3c 00 04 01 02",
            "answer 1 RDATA (4 bytes) at byte 31 runs past the end of the 33-byte message"
        ),
        (
            "12 34 81 80 00 01 00 01 00 00 00 00  01 61 00 00 01 00 01  c0 0c 00 05 00 01 00 00 00 3c 00 03 c0 0c 00",
            "answer 1 CNAME RDATA at byte 31 is 3 bytes, but the name in it is 2"
        ),
    ])
    func refusesMalformedMessages(hex: String, message: String) {
        #expect(throws: DNSError(message)) { try DNSMessage(parsing: hexBytes(hex)) }
    }

    @Test func rejectsOverlongNames() {
        // 5 labels of 63 bytes: 320 bytes on the wire.
        var bytes = hexBytes("12 34 81 80 00 01 00 00 00 00 00 00")
        for _ in 0..<5 { bytes += [63] + [UInt8](repeating: 0x61, count: 63) }
        bytes += [0, 0, 1, 0, 1]
        #expect(throws: DNSError("question 1 QNAME at byte 12 is longer than 255 bytes")) { try DNSMessage(parsing: bytes) }
    }

    @Test func oddLabelBytesAreEscaped() throws {
        let bytes = hexBytes("12 34 81 80 00 01 00 00 00 00 00 00  04 61 2e 20 ff 03 63 6f 6d 00 00 01 00 01")
        #expect(try DNSMessage(parsing: bytes).questions.first?.name == "a\\046\\032\\255.com")
    }

    @Test func buildsQueries() throws {
        let query = try DNSMessage.query(id: 0x8f2a, name: "www.github.com", type: .a)
        #expect(query == Array(Self.githubReply[0..<2]) + hexBytes("01 00 00 01 00 00 00 00 00 00") + Array(Self.githubReply[12..<32]))
        #expect(try DNSMessage.query(id: 0x8f2a, name: "www.github.com.", type: .a) == query)
        let aaaa = try DNSMessage.query(id: 1, name: "example.com", type: .aaaa)
        #expect(Array(aaaa.suffix(4)) == [0x00, 0x1c, 0x00, 0x01])
        #expect(throws: DNSError("cannot query \"\": it is empty")) { try DNSMessage.query(id: 1, name: "", type: .a) }
        #expect(throws: DNSError("cannot query \"a..b\": a label must be 1 to 63 bytes")) {
            try DNSMessage.query(id: 1, name: "a..b", type: .a)
        }
        let long = String(repeating: "a", count: 64) + ".com"
        #expect(throws: DNSError("cannot query \"\(long)\": a label must be 1 to 63 bytes")) {
            try DNSMessage.query(id: 1, name: long, type: .a)
        }
        let tooLong = Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
        #expect(throws: DNSError("cannot query \"\(tooLong)\": it is longer than 255 bytes on the wire")) {
            try DNSMessage.query(id: 1, name: tooLong, type: .a)
        }
        // The query parses back as one question, not a response.
        let parsed = try DNSMessage(parsing: query)
        #expect(!parsed.isResponse && parsed.recursionDesired && parsed.questions == [DNSQuestion(name: "www.github.com", type: .a)])
    }

    @Test func cnameChainsStopAtLoopsAndMissingLinks() throws {
        let question = [DNSQuestion(name: "a.test", type: .a)]
        let loop = DNSMessage(
            id: 1, isResponse: true, questions: question,
            answers: [
                DNSRecord(name: "a.test", type: .cname, ttl: 1, data: .name("b.test")),
                DNSRecord(name: "b.test", type: .cname, ttl: 1, data: .name("a.test")),
                DNSRecord(name: "a.test", type: .a, ttl: 1, data: .address(IPAddress(v4: 192, 0, 2, 1))),
            ])
        #expect(loop.addresses(for: "a.test", type: .a).addresses.isEmpty)
        let chain = DNSMessage(
            id: 1, isResponse: true, questions: question,
            answers: [
                DNSRecord(name: "b.test", type: .cname, ttl: 1, data: .name("C.test")),
                DNSRecord(name: "a.test", type: .cname, ttl: 1, data: .name("b.test")),
                DNSRecord(name: "c.test", type: .a, ttl: 1, data: .address(IPAddress(v4: 192, 0, 2, 3))),
                DNSRecord(name: "c.test", type: .a, ttl: 1, data: .address(IPAddress(v4: 192, 0, 2, 3))),
                DNSRecord(name: "c.test", type: .a, ttl: 1, data: .address(IPAddress(v4: 192, 0, 2, 4))),
                DNSRecord(name: "elsewhere.test", type: .a, ttl: 1, data: .address(IPAddress(v4: 192, 0, 2, 9))),
            ])
        let found = chain.addresses(for: "a.test", type: .a)
        #expect(found.addresses == [IPAddress(v4: 192, 0, 2, 3), IPAddress(v4: 192, 0, 2, 4)] && found.canonicalName == "c.test")
        // Round trip through the wire format.
        let reparsed = try DNSMessage(parsing: chain.encoded())
        #expect(reparsed.addresses(for: "a.test", type: .a).addresses == found.addresses)
        #expect(reparsed.answers.count == 6 && reparsed.id == 1 && reparsed.isResponse)
    }
}

@Suite struct HostsFileTests {
    @Test func looksUpNamesAndAliases() {
        let hosts = HostsFile(
            """
            127.0.0.1\tlocalhost
            ::1     localhost ip6-localhost ip6-loopback   # both families
            192.0.2.10 db.example db   # comment
            192.0.2.11 DB.example
            192.0.2.10 db.example
            # 192.0.2.99 commented.example
            """)
        #expect(hosts.addresses(for: "localhost") == [IPAddress(v4: 127, 0, 0, 1), IPAddress(parsing: "::1")!])
        #expect(hosts.addresses(for: "db.example.") == [IPAddress(v4: 192, 0, 2, 10), IPAddress(v4: 192, 0, 2, 11)])
        #expect(hosts.addresses(for: "DB") == [IPAddress(v4: 192, 0, 2, 10)])
        #expect(hosts.addresses(for: "ip6-loopback") == [IPAddress(parsing: "::1")!])
        #expect(hosts.addresses(for: "commented.example").isEmpty && hosts.addresses(for: "missing").isEmpty)
        #expect(hosts.diagnostics.isEmpty)
        #expect(HostsFile().addresses(for: "localhost").isEmpty)
        // Windows line ends (one Character in Swift) still end lines.
        let crlf = HostsFile("192.0.2.1 one\r\n192.0.2.2 two\r\n")
        #expect(crlf.addresses(for: "one") == [IPAddress(v4: 192, 0, 2, 1)] && crlf.addresses(for: "two") == [IPAddress(v4: 192, 0, 2, 2)])
        #expect(ResolverConfiguration(resolvConf: "nameserver 10.0.0.1\r\nnameserver 10.0.0.2\r\n").nameservers.count == 2)
    }

    @Test func skipsLinesItCannotUse() {
        let hosts = HostsFile("127.1 short\nfe80::1%eth0 zoned\n192.0.2.1\n192.0.2.2 fine\n", path: "/tmp/hosts")
        #expect(hosts.addresses(for: "fine") == [IPAddress(v4: 192, 0, 2, 2)])
        #expect(hosts.addresses(for: "short").isEmpty && hosts.addresses(for: "zoned").isEmpty)
        #expect(
            hosts.diagnostics.map(\.description) == [
                "notice: /tmp/hosts:1: line skipped (not an IP address): 127.1 short",
                "notice: /tmp/hosts:2: line skipped (zone indexes are not supported): fe80::1%eth0 zoned",
                "notice: /tmp/hosts:3: line skipped (no name after the address): 192.0.2.1",
            ])
    }
}

@Suite struct ResolverConfigurationTests {
    @Test func readsNameserversAndOptions() {
        let conf = ResolverConfiguration(
            resolvConf: """
                # generated
                ; also a comment
                search corp.example lab.example
                nameserver 10.0.0.53
                nameserver 2001:db8::53
                options timeout:2 attempts:3 ndots:2 rotate
                sortlist 130.155.160.0/255.255.240.0
                """)
        #expect(conf.nameservers == [Nameserver(IPAddress(v4: 10, 0, 0, 53)), Nameserver(IPAddress(parsing: "2001:db8::53")!)])
        #expect(conf.timeoutMilliseconds == 2000 && conf.attempts == 3 && conf.ndots == 2)
        #expect(conf.searchDomains == ["corp.example", "lab.example"])
        #expect(conf.diagnostics.isEmpty)
    }

    @Test func followsGlibcDefaultsAndLimits() {
        let empty = ResolverConfiguration(resolvConf: "")
        #expect(empty.nameservers == [Nameserver(IPAddress(v4: 127, 0, 0, 1))])
        #expect(empty.timeoutMilliseconds == 5000 && empty.attempts == 2 && empty.ndots == 1 && empty.searchDomains.isEmpty)
        let clamped = ResolverConfiguration(resolvConf: "options timeout:99 attempts:0 ndots:40\noptions attempts:x\n")
        #expect(clamped.timeoutMilliseconds == 30_000 && clamped.attempts == 1 && clamped.ndots == 15)
        #expect(clamped.diagnostics.map(\.description) == ["notice: /etc/resolv.conf:2: option \"attempts:x\" ignored (not a number)"])
        let many = ResolverConfiguration(
            resolvConf: """
                nameserver 10.0.0.1
                nameserver 127.1
                nameserver fe80::1%eth0
                nameserver
                nameserver 10.0.0.2
                nameserver 10.0.0.3
                nameserver 10.0.0.4
                domain one.example
                search two.example
                domain three.example
                """, path: "rc")
        #expect(many.nameservers.map(\.description) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(many.searchDomains == ["three.example"])  // the last search/domain line wins
        #expect(
            many.diagnostics.map(\.description) == [
                "notice: rc:2: nameserver \"127.1\" ignored (not an IP address)",
                "notice: rc:3: nameserver \"fe80::1%eth0\" ignored (zone indexes are not supported)",
                "notice: rc:4: nameserver line without an address ignored",
                "notice: rc:7: nameserver 10.0.0.4 ignored (only the first 3 are used, as by glibc)",
            ])
    }

    @Test func searchOrder() {
        let conf = ResolverConfiguration(nameservers: [], searchDomains: ["corp.example", "lab.example."])
        #expect(conf.candidates(for: "db") == ["db.corp.example", "db.lab.example", "db"])
        #expect(conf.candidates(for: "db.eu") == ["db.eu", "db.eu.corp.example", "db.eu.lab.example"])
        #expect(conf.candidates(for: "db.") == ["db"])
        #expect(ResolverConfiguration(nameservers: []).candidates(for: "db") == ["db"])
    }

    @Test func nameserverText() {
        #expect(Nameserver(IPAddress(v4: 10, 0, 0, 53)).description == "10.0.0.53")
        #expect(Nameserver(IPAddress(v4: 127, 0, 0, 1), port: 5353).description == "127.0.0.1:5353")
        #expect(Nameserver(IPAddress(parsing: "::1")!, port: 5353).description == "[::1]:5353")
    }
}
