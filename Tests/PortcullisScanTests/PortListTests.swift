import PortcullisCore
import PortcullisLinux
import Testing

@Suite struct PortListTests {
    @Test func portsAndRanges() throws {
        let list = try PortList.parse("22,80,8000-8002")
        #expect(list.tcp == [22, 80, 8000, 8001, 8002])
        #expect(list.udp == list.tcp)
        #expect(!list.namesTCPOnly && !list.namesUDPOnly)
        #expect(try PortList.parse("80,22,22,20-25,443-443").tcp == [20, 21, 22, 23, 24, 25, 80, 443])
        #expect(try PortList.parse(" 22 , 80 ").tcp == [22, 80])
        #expect(try PortList.parse("080").tcp == [80])
        #expect(try PortList.parse("65535").tcp == [65535])
    }

    @Test func openEndedRanges() throws {
        let all = try PortList.parse("-")
        #expect(all.tcp.count == 65535 && all.tcp.first == 1 && all.tcp.last == 65535)
        #expect(all.udp == all.tcp)
        #expect(try PortList.parse("-5").tcp == [1, 2, 3, 4, 5])
        #expect(try PortList.parse("65533-").tcp == [65533, 65534, 65535])
    }

    @Test func protocolPrefixes() throws {
        let list = try PortList.parse("T:22,80,U:53,161")
        #expect(list.tcp == [22, 80] && list.udp == [53, 161])
        #expect(list.namesTCPOnly && list.namesUDPOnly)
        // Items before any prefix apply to both protocols; a prefix lasts until the next.
        let mixed = try PortList.parse("443,T:8080-8081,U:500,4500,t:22")
        #expect(mixed.tcp == [22, 443, 8080, 8081])
        #expect(mixed.udp == [443, 500, 4500])
        #expect(try PortList.parse("U:-").udp.count == 65535)
        #expect(try PortList.parse("U:-").tcp.isEmpty)
        #expect(try PortList.parse("U:53").ports(for: .udp) == [53])
        #expect(try PortList.parse("U:53").ports(for: .raw).isEmpty)
    }

    static let example = "give ports such as 22,80,8000-8100, or - for all"

    @Test(arguments: [
        ("0", "port 0 is not accepted (ports are 1-65535)"),
        ("22,0", "port 0 is not accepted (ports are 1-65535)"),
        ("0-100", "port 0 is not accepted (ports are 1-65535)"),
        ("65536", "port 65536 is out of range (ports are 1-65535)"),
        ("1-99999999999999999999", "port 99999999999999999999 is out of range (ports are 1-65535)"),
        ("100-20", "range 100-20 is reversed (write 20-100)"),
        ("", "empty port list (\(example))"),
        ("  ", "empty port list (\(example))"),
        ("22,,80", "empty item (two commas in a row, or one at the start or end; \(example))"),
        ("22,", "empty item (two commas in a row, or one at the start or end; \(example))"),
        (",22", "empty item (two commas in a row, or one at the start or end; \(example))"),
        ("http", "\"http\" is not a port or range (\(example); service names are not accepted)"),
        ("22,ssh", "\"ssh\" is not a port or range (\(example); service names are not accepted)"),
        ("1-2-3", "\"1-2-3\" is not a port or range (\(example); service names are not accepted)"),
        ("+22", "\"+22\" is not a port or range (\(example); service names are not accepted)"),
        ("S:22", "\"S:\" is not a protocol prefix (T: for TCP, U: for UDP)"),
        ("T:", "\"T:\" has no ports after it (such as T:22,80)"),
        ("22,U:", "\"U:\" has no ports after it (such as U:22,80)"),
    ])
    func rejects(text: String, reason: String) {
        #expect(throws: PortListError(option: "-p", value: text, reason: reason)) { try PortList.parse(text) }
    }

    @Test func messagesNameTheOptionAndValue() {
        #expect(
            PortListError(option: "-p", value: "22,0", reason: "port 0 is not accepted (ports are 1-65535)").description
                == "-p \"22,0\": port 0 is not accepted (ports are 1-65535)")
        #expect(
            throws: PortListError(
                option: "--ports", value: "x", reason: "\"x\" is not a port or range (\(Self.example); service names are not accepted)")
        ) {
            try PortList.parse("x", option: "--ports")
        }
        #expect(throws: PortListError(option: "--top-ports", value: "0", reason: "give a number of ports from 1 to 65535")) {
            try PortList.top(0, table: ServiceTable(etcServices: ""))
        }
        #expect(throws: PortListError(option: "--top-ports", value: "65536", reason: "give a number of ports from 1 to 65535")) {
            try PortList.top(65536, table: ServiceTable(etcServices: ""))
        }
    }

    @Test func topPortsWithoutNmapServicesUseTheBuiltInRanking() throws {
        let etc = ServiceTable(etcServices: "echo 7/tcp\nsmtp 25/tcp\nzzz 3/tcp\nzzz 4/udp\nnone 0/tcp\n")
        #expect(!etc.hasNmapData)
        #expect(PortList.rankedPorts(100, proto: .tcp, table: etc) == CommonPorts.tcp)
        #expect(PortList.rankedPorts(100, proto: .udp, table: etc) == CommonPorts.udp)
        #expect(PortList.rankedPorts(5, proto: .tcp, table: etc) == [80, 23, 443, 21, 22])
        // After the built-in 100: /etc/services ports not yet chosen, ascending; then every other port, ascending.
        let ranked = PortList.rankedPorts(104, proto: .tcp, table: etc)
        #expect(Array(ranked.suffix(4)) == [3, 1, 2, 4])
        #expect(try PortList.top(5, table: etc) == PortList(tcp: [21, 22, 23, 80, 443], udp: [123, 137, 138, 161, 631]))
        // Exactly N ports, port 0 never among them.
        let everything = try PortList.top(65535, table: etc)
        #expect(everything.tcp.count == 65535 && everything.tcp.first == 1 && everything.udp.count == 65535)
        #expect(PortList.rankedPorts(10, proto: .raw, table: etc).isEmpty && PortList.rankedPorts(0, proto: .tcp, table: etc).isEmpty)
        #expect(Set(CommonPorts.tcp).count == 100 && Set(CommonPorts.udp).count == 100)
    }

    @Test func topPortsFollowNmapServicesWhenLoaded() throws {
        let nmap = """
            http\t80/tcp\t0.5
            ssh\t22/tcp\t0.4
            unknown\t4/tcp\t0.3
            domain\t53/udp\t0.2
            """
        let table = ServiceTable(etcServices: "smtp 25/tcp\n", nmapServices: nmap)
        #expect(PortList.rankedPorts(5, proto: .tcp, table: table) == [80, 22, 4, 25, 1])
        #expect(PortList.rankedPorts(2, proto: .udp, table: table) == [53, 1])
    }

    /// The built-in list is nmap-services' own top 100, where that file is installed.
    @Test(.enabled(if: HostFiles.services(etcRoot: "/").hasNmapData))
    func builtInListMatchesTheInstalledNmapServices() {
        let table = HostFiles.services(etcRoot: "/")
        #expect(PortList.rankedPorts(100, proto: .tcp, table: table) == CommonPorts.tcp)
        #expect(PortList.rankedPorts(100, proto: .udp, table: table) == CommonPorts.udp)
    }
}
