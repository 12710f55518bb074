import PortcullisCore
import Testing

@Suite struct TargetSpecTests {
    func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    @Test(arguments: [
        ("192.0.2.1", TargetSpec.address(IPAddress(v4: 192, 0, 2, 1))),
        ("0.0.0.0", .address(IPAddress(v4: 0, 0, 0, 0))),
        ("2001:db8::1", .address(IPAddress(parsing: "2001:db8::1")!)),
        ("::ffff:192.0.2.1", .address(IPAddress(parsing: "::ffff:192.0.2.1")!)),
        ("10.0.0.0/24", .network(IPAddress(v4: 10, 0, 0, 0), prefixLength: 24)),
        ("10.0.0.7/24", .network(IPAddress(v4: 10, 0, 0, 7), prefixLength: 24)),
        ("10.0.0.0/08", .network(IPAddress(v4: 10, 0, 0, 0), prefixLength: 8)),
        ("0.0.0.0/0", .network(IPAddress(v4: 0, 0, 0, 0), prefixLength: 0)),
        ("fd00::/120", .network(IPAddress(parsing: "fd00::")!, prefixLength: 120)),
        ("10.0.0.1-20", .range(first: IPAddress(v4: 10, 0, 0, 1), last: IPAddress(v4: 10, 0, 0, 20))),
        ("10.0.0.5-5", .range(first: IPAddress(v4: 10, 0, 0, 5), last: IPAddress(v4: 10, 0, 0, 5))),
        ("10.0.0.0-255", .range(first: IPAddress(v4: 10, 0, 0, 0), last: IPAddress(v4: 10, 0, 0, 255))),
        ("db-1.example.com", .hostname("db-1.example.com")),
        ("example.com.", .hostname("example.com.")),
        ("localhost", .hostname("localhost")),
        ("3com", .hostname("3com")),  // a single label starting with a digit is a name, not shorthand
        ("xn--bcher-kva.example", .hostname("xn--bcher-kva.example")),
    ])
    func accepts(text: String, expected: TargetSpec) throws {
        #expect(try TargetSpec.parse(text) == expected)
    }

    @Test func blocksCoverTheirAddresses() throws {
        func span(_ text: String) throws -> (String, String, String) {
            let range = try #require(try TargetSpec.parse(text).addresses)
            return (range.first.description, range.last.description, range.count.description)
        }
        // nmap scans network and broadcast addresses of IPv4 blocks too.
        #expect(try span("10.0.0.0/24") == ("10.0.0.0", "10.0.0.255", "256"))
        #expect(try span("10.0.0.7/24") == ("10.0.0.0", "10.0.0.255", "256"))  // host bits ignored
        #expect(try span("192.0.2.1/32") == ("192.0.2.1", "192.0.2.1", "1"))
        #expect(try span("192.0.2.1/31") == ("192.0.2.0", "192.0.2.1", "2"))
        #expect(try span("0.0.0.0/0") == ("0.0.0.0", "255.255.255.255", "4294967296"))
        #expect(try span("fd00::/120") == ("fd00::", "fd00::ff", "256"))
        #expect(try span("fd00::1/112") == ("fd00::", "fd00::ffff", "65536"))
        #expect(try span("2001:db8::/64") == ("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "18446744073709551616"))
        #expect(try span("::/0") == ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "340282366920938463463374607431768211456"))
        #expect(try span("10.0.0.1-20") == ("10.0.0.1", "10.0.0.20", "20"))
        #expect(try TargetSpec.parse("example.com").addresses == nil)
    }

    @Test func descriptionsUseTheInputSyntax() throws {
        #expect(try TargetSpec.parse("10.0.0.1-20").description == "10.0.0.1-20")
        #expect(try TargetSpec.parse("10.0.0.7/24").description == "10.0.0.7/24")
        #expect(try TargetSpec.parse("2001:0db8::1").description == "2001:db8::1")
    }

    static let accepted =
        "a target is an IPv4 or IPv6 address, a CIDR block such as 10.0.0.0/24 or fd00::/120, "
        + "a last-octet range such as 10.0.0.1-20, or a hostname"

    static let ipv4Rejections: [(String, String)] = [
        // inet_aton shorthand: what it would have meant is suggested.
        ("127.1", "not a valid IPv4 address (inet_aton shorthand such as 127.1 is not accepted; write 127.0.0.1)"),
        ("10.1.2", "not a valid IPv4 address (inet_aton shorthand such as 10.1.2 is not accepted; write 10.1.0.2)"),
        ("0x7f.1", "not a valid IPv4 address (inet_aton shorthand such as 0x7f.1 is not accepted; write 127.0.0.1)"),
        ("0x7f.0.0.1", "not a valid IPv4 address (inet_aton shorthand such as 0x7f.0.0.1 is not accepted; write 127.0.0.1)"),
        ("2130706433", "not a valid IPv4 address (inet_aton shorthand such as 2130706433 is not accepted; write 127.0.0.1)"),
        ("0x7f000001", "not a valid IPv4 address (inet_aton shorthand such as 0x7f000001 is not accepted; write 127.0.0.1)"),
        // Leading zeros: octal to inet_aton, decimal to most other tools.
        (
            "017.0.0.1",
            "not a valid IPv4 address (leading zeros are not accepted: inet_aton reads 017.0.0.1 as 15.0.0.1, "
                + "most other tools as 17.0.0.1; write the one you mean)"
        ),
        (
            "010.0.0.1",
            "not a valid IPv4 address (leading zeros are not accepted: inet_aton reads 010.0.0.1 as 8.0.0.1, "
                + "most other tools as 10.0.0.1; write the one you mean)"
        ),
        ("09.0.0.1", "not a valid IPv4 address (leading zeros are not accepted; write 9.0.0.1)"),
        ("00.0.0.0", "not a valid IPv4 address (leading zeros are not accepted; write 0.0.0.0)"),
        ("0400.0.0.1", "not a valid IPv4 address (octet \"0400\" has a leading zero, and leading zeros are not accepted)"),
        ("1.2.3.256", "not a valid IPv4 address (octet 256 is out of range 0-255)"),
        ("256.1", "not a valid IPv4 address (octet 256 is out of range 0-255; write four octets such as 192.0.2.1)"),
        ("1.2.3.4.5", "not a valid IPv4 address (an IPv4 address has four octets; this has 5)"),
        ("1..2.3", "not a valid IPv4 address (an octet is empty; write four octets such as 192.0.2.1)"),
        ("10.0.0.", "not a valid IPv4 address (an octet is empty; write four octets such as 192.0.2.1)"),
        ("1.2.3.4a", "not a valid IPv4 address (octet \"4a\" is not a decimal number)"),
    ]

    static let blockAndRangeRejections: [(String, String)] = [
        // CIDR blocks.
        ("10.0.0.0/33", "prefix length /33 is too long (IPv4 prefixes are /0 to /32)"),
        ("fd00::/129", "prefix length /129 is too long (IPv6 prefixes are /0 to /128)"),
        ("10.0.0.0/1000", "prefix length /1000 is too long (IPv4 prefixes are /0 to /32)"),
        ("10.0.0.0/", "no prefix length after \"/\" (IPv4 prefixes are /0 to /32)"),
        ("10.0.0.0/x", "prefix length \"x\" is not a number (IPv4 prefixes are /0 to /32)"),
        ("10.0.0.0/-1", "prefix length \"-1\" is not a number (IPv4 prefixes are /0 to /32)"),
        ("/24", "no address before \"/\" (a CIDR block is ADDRESS/PREFIX, such as 10.0.0.0/24)"),
        ("10.0.0.0/8/8", "more than one \"/\" (a CIDR block is ADDRESS/PREFIX, such as 10.0.0.0/24)"),
        ("10.1/16", "not a valid IPv4 address (inet_aton shorthand such as 10.1 is not accepted; write 10.0.0.1)"),
        ("example.com/24", "a CIDR block needs an IP address before \"/\", not a hostname (such as 10.0.0.0/24)"),
        ("10.0.0.1-5/24", "a range cannot have a CIDR prefix (write 10.0.0.1-20 or 10.0.0.0/24)"),
        (
            "fd00::1-2/120",
            "not a valid IPv6 address (ranges are accepted only in the last octet of an IPv4 address; "
                + "for IPv6 use a CIDR block such as fd00::/120)"
        ),
        // Last-octet ranges.
        ("10.0.0.20-1", "range 20-1 is reversed (write 10.0.0.1-20)"),
        ("10.0.0.1-256", "not a valid range (end \"256\" is not an octet 0-255; a range is written as 10.0.0.1-20)"),
        ("10.0.0.1-020", "not a valid range (end \"020\" is not an octet 0-255; a range is written as 10.0.0.1-20)"),
        ("10.0.0.1-", "not a valid range (no end after \"-\"; a range is written as 10.0.0.1-20)"),
        ("1.2.3.-4", "not a valid range (no start before \"-\"; a range is written as 10.0.0.1-20)"),
        ("10.0.0.1-2-3", "not a valid range (more than one \"-\"; a range is written as 10.0.0.1-20)"),
        (
            "10.0.0.1-10.0.0.5",
            "not a valid range (only the last octet can be a range, and full addresses cannot end one; "
                + "a range is written as 10.0.0.1-20)"
        ),
        (
            "10.0-5.0.1",
            "not a valid range (only the last octet can be a range, and full addresses cannot end one; "
                + "a range is written as 10.0.0.1-20)"
        ),
        ("10.0.1-20", "not a valid IPv4 address (inet_aton shorthand such as 10.0.1 is not accepted; write 10.0.0.1)"),
    ]

    static let ipv6Rejections: [(String, String)] = [
        // IPv6.
        (
            "fd00::1-20",
            "not a valid IPv6 address (ranges are accepted only in the last octet of an IPv4 address; "
                + "for IPv6 use a CIDR block such as fd00::/120)"
        ),
        ("fe80::1%", "no zone after \"%\" (a zone is an interface name such as eth0, or an interface index such as 2)"),
        ("[::1]", "not a valid IPv6 address (write it without brackets, such as 2001:db8::1)"),
        ("1::2::3", "not a valid IPv6 address (eight groups of up to four hex digits, \"::\" at most once, such as 2001:db8::1)"),
        ("12345::", "not a valid IPv6 address (eight groups of up to four hex digits, \"::\" at most once, such as 2001:db8::1)"),
        ("10.0.0.1:80", "ports are given with -p, not as ADDRESS:PORT"),
        ("example.com:8080", "ports are given with -p, not as ADDRESS:PORT"),
    ]

    static let nameRejections: [(String, String)] = [
        // Hostnames and garbage.
        ("", "empty (\(accepted))"),
        (".", "not a valid hostname (it has no labels; \(accepted))"),
        ("exa_mple.com", badCharacter("_")),
        ("garbage!", badCharacter("!")),
        (" 10.0.0.1", badCharacter(" ")),
        (
            "bücher.example",
            "not a valid hostname (non-ASCII characters are not accepted; write an internationalised name in its xn-- form)"
        ),
        ("-web.example", "not a valid hostname (label \"-web\" begins with a hyphen)"),
        ("web-.example", "not a valid hostname (label \"web-\" ends with a hyphen)"),
        ("a..b", "not a valid hostname (empty label: two dots in a row, or a leading dot)"),
        (".example.com", "not a valid hostname (empty label: two dots in a row, or a leading dot)"),
        (
            String(repeating: "a", count: 64) + ".example",
            "not a valid hostname (label \"aaaaaaaaaaaaaaaaaaaa...\" is 64 characters; the limit is 63)"
        ),
        (
            Array(repeating: String(repeating: "a", count: 50), count: 5).joined(separator: ".") + ".com",
            "not a valid hostname (a hostname is at most 253 characters; this has 258)"
        ),
    ]

    static func badCharacter(_ character: String) -> String {
        "not a valid hostname (character \"\(character)\" is not allowed: hostnames are letters, digits, hyphens and dots; \(accepted))"
    }

    @Test(arguments: ipv4Rejections + blockAndRangeRejections + ipv6Rejections + nameRejections)
    func rejects(text: String, reason: String) {
        #expect(throws: TargetError.invalid(item: text, origin: .argument, reason: reason)) { try TargetSpec.parse(text) }
    }

    @Test func messagesNameTheArgumentAndItsOrigin() {
        let reason = "not a valid IPv4 address (inet_aton shorthand such as 127.1 is not accepted; write 127.0.0.1)"
        #expect(TargetError.invalid(item: "127.1", origin: .argument, reason: reason).description == "target \"127.1\": \(reason)")
        #expect(TargetError.invalid(item: "127.1", origin: .exclude, reason: reason).description == "--exclude \"127.1\": \(reason)")
        #expect(
            TargetError.invalid(item: "127.1", origin: .file(path: "hosts.txt", line: 3), reason: reason).description
                == "hosts.txt:3: target \"127.1\": \(reason)")
        #expect(
            TargetError.invalid(item: "127.1", origin: .excludeFile(path: "skip.txt", line: 1), reason: reason).description
                == "skip.txt:1: excluded target \"127.1\": \(reason)")
        // The user's text is escaped: a newline cannot forge a second message line.
        #expect(throws: TargetError.self) { try TargetSpec.parse("a\nb") }
        do {
            _ = try TargetSpec.parse("a\nb\u{1b}[2J")
        } catch {
            #expect(
                "\(error)" == "target \"a\\nb\\x1b[2J\": not a valid hostname (character \"\\n\" is not allowed: "
                    + "hostnames are letters, digits, hyphens and dots; \(Self.accepted))")
        }
    }

    @Test func commaSeparatedLists() throws {
        let specs = try TargetSpec.parseList(["10.0.0.1,10.0.0.2", "example.com", "fd00::/126,10.0.1.0/30"])
        #expect(specs.map(\.description) == ["10.0.0.1", "10.0.0.2", "example.com", "fd00::/126", "10.0.1.0/30"])
        #expect(
            throws: TargetError.invalid(
                item: "10.0.0.1,,10.0.0.2", origin: .argument,
                reason: "empty item in a comma-separated list (two commas in a row, or one at the start or end)")
        ) {
            try TargetSpec.parseList(["10.0.0.1,,10.0.0.2"])
        }
        #expect(
            throws: TargetError.invalid(
                item: "10.0.0.1,", origin: .exclude,
                reason: "empty item in a comma-separated list (two commas in a row, or one at the start or end)")
        ) {
            try TargetSpec.parseList(["10.0.0.1,"], origin: .exclude)
        }
        // nmap's octet list is explained, not called shorthand.
        #expect(
            throws: TargetError.invalid(
                item: "10.0.0.1,5", origin: .argument,
                reason: "\"5\" is not a whole target (nmap's octet lists such as 10.0.0.1,5 are not accepted; "
                    + "write each address, or a range such as 10.0.0.1-5)")
        ) {
            try TargetSpec.parseList(["10.0.0.1,5"])
        }
        #expect(
            throws: TargetError.invalid(
                item: "127.1", origin: .exclude,
                reason: "not a valid IPv4 address (inet_aton shorthand such as 127.1 is not accepted; write 127.0.0.1)")
        ) {
            try TargetSpec.parseList(["10.0.0.1,127.1"], origin: .exclude)
        }
        #expect(TargetSpec.hostnames(in: specs + [.hostname("example.com"), .hostname("b.example")]) == ["example.com", "b.example"])
    }

    @Test func targetFiles() throws {
        let text = """
            # lab hosts
            10.0.0.1  10.0.0.2\t10.0.0.3   # three on one line
            \r
            fd00::1,db.example.com\r
              10.0.1.0/30
            """
        let specs = try TargetSpec.parseFile(text, path: "lab.txt")
        #expect(specs.map(\.description) == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "db.example.com", "10.0.1.0/30"])
        #expect(try TargetSpec.parseFile("", path: "empty.txt").isEmpty)
        #expect(try TargetSpec.parseFile("# nothing\n\n", path: "empty.txt").isEmpty)
        do {
            _ = try TargetSpec.parseFile("10.0.0.1\n# comment\n10.0.0.2 127.1\n", path: "lab.txt")
            Issue.record("127.1 was accepted")
        } catch {
            #expect(
                "\(error)" == "lab.txt:3: target \"127.1\": not a valid IPv4 address "
                    + "(inet_aton shorthand such as 127.1 is not accepted; write 127.0.0.1)")
        }
        do {
            _ = try TargetSpec.parseFile("10.0.0.0/33", path: "skip.txt", excluding: true)
            Issue.record("/33 was accepted")
        } catch {
            #expect(
                "\(error)" == "skip.txt:1: excluded target \"10.0.0.0/33\": prefix length /33 is too long (IPv4 prefixes are /0 to /32)")
        }
    }
}
