import PortcullisCore
import Testing

/// Zones on link-local targets (`fe80::1%eth0`): parsing, resolving against
/// the interfaces, exclusions and iteration order.
@Suite struct TargetZoneTests {
    func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    /// lo (1) with 127.0.0.1/8, eth0 (2) with 10.0.0.5/24, wlan0 (7) with 192.168.1.20/24 brd set and 172.16.0.2/31.
    static let interfaces = [
        NetworkInterface(
            index: 1, name: "lo", isLoopback: true,
            addresses: [InterfaceAddress(address: IPAddress(v4: 127, 0, 0, 1), prefixLength: 8)]),
        NetworkInterface(
            index: 2, name: "eth0",
            addresses: [
                InterfaceAddress(address: IPAddress(v4: 10, 0, 0, 5), prefixLength: 24),
                InterfaceAddress(address: IPAddress(parsing: "fe80::5")!, prefixLength: 64),
            ]),
        NetworkInterface(
            index: 7, name: "wlan0",
            addresses: [
                InterfaceAddress(
                    address: IPAddress(v4: 192, 168, 1, 20), prefixLength: 24, broadcast: IPAddress(v4: 192, 168, 1, 255)),
                InterfaceAddress(address: IPAddress(v4: 172, 16, 0, 2), prefixLength: 31),
            ]),
    ]

    func set(_ targets: [String], excluding excludes: [String] = [], screening: Bool = false) throws -> TargetSet {
        try TargetSet(
            targets: TargetSpec.parseList(targets), excluding: TargetSpec.parseList(excludes, origin: .exclude),
            interfaces: Self.interfaces, screening: screening)
    }

    @Test(arguments: [
        ("fe80::1%eth0", TargetSpec.scoped(IPAddress(parsing: "fe80::1")!, zone: "eth0")),
        ("FE80::0001%eth0", .scoped(IPAddress(parsing: "fe80::1")!, zone: "eth0")),
        ("fe80::1%2", .scoped(IPAddress(parsing: "fe80::1")!, zone: "2")),
        ("febf:ffff::1%br-1a2b.100", .scoped(IPAddress(parsing: "febf:ffff::1")!, zone: "br-1a2b.100")),  // still fe80::/10
        ("ff02::1%eth0", .scoped(IPAddress(parsing: "ff02::1")!, zone: "eth0")),  // link-scope multicast
        ("ff12::1%eth0", .scoped(IPAddress(parsing: "ff12::1")!, zone: "eth0")),
        ("ff01::2%lo", .scoped(IPAddress(parsing: "ff01::2")!, zone: "lo")),
    ])
    func parsesZones(text: String, expected: TargetSpec) throws {
        let spec = try TargetSpec.parse(text)
        #expect(spec == expected)
        #expect(spec.addresses == AddressRange(expected.addresses!.first))
    }

    @Test func zoneDescriptionsAndLists() throws {
        #expect(try TargetSpec.parse("FE80::0001%eth0").description == "fe80::1%eth0")
        let specs = try TargetSpec.parseList(["fe80::1%eth0,10.0.0.1"])
        #expect(specs.map(\.description) == ["fe80::1%eth0", "10.0.0.1"])
        let file = try TargetSpec.parseFile("# lab\nfe80::2%eth0  fe80::3%7 # two\n", path: "hosts.txt")
        #expect(file.map(\.description) == ["fe80::2%eth0", "fe80::3%7"])
        #expect(throws: TargetError.self) { try TargetSpec.parseFile("10.0.0.1\nfe80::2%\n", path: "hosts.txt") }
        do {
            _ = try TargetSpec.parseFile("10.0.0.1\nfe80::2%\n", path: "hosts.txt")
        } catch {
            #expect(
                error.description
                    == "hosts.txt:2: target \"fe80::2%\": no zone after \"%\" "
                    + "(a zone is an interface name such as eth0, or an interface index such as 2)")
        }
    }

    static let accepted = "a zone is an interface name such as eth0, or an interface index such as 2"

    @Test(arguments: [
        (
            "2001:db8::1%eth0",
            "2001:db8::1 is not link-local: a zone (%INTERFACE) is given only with an IPv6 link-local address "
                + "(fe80::/10, or link-scope multicast); write 2001:db8::1 without it"
        ),
        (
            "ff05::2%eth0",
            "ff05::2 is not link-local: a zone (%INTERFACE) is given only with an IPv6 link-local address "
                + "(fe80::/10, or link-scope multicast); write ff05::2 without it"
        ),
        (
            "::ffff:169.254.0.1%eth0",
            "::ffff:169.254.0.1 is not link-local: a zone (%INTERFACE) is given only with an IPv6 link-local address "
                + "(fe80::/10, or link-scope multicast); write ::ffff:169.254.0.1 without it"
        ),
        ("169.254.0.1%eth0", "a zone (%INTERFACE) follows only an IPv6 link-local address; IPv4 addresses have none"),
        ("host%eth0", "a zone (%INTERFACE) follows an IPv6 link-local address, not a hostname (such as fe80::1%eth0)"),
        ("%eth0", "no address before \"%\" (a zone follows an IPv6 link-local address, such as fe80::1%eth0)"),
        ("fe80::1%", "no zone after \"%\" (\(accepted))"),
        ("fe80::1%eth0%1", "more than one \"%\" (\(accepted))"),
        ("fe80::1%a:b", "character \":\" cannot be in an interface name (\(accepted))"),
        ("fe80::1%..", "zone \"..\" is not an interface name (\(accepted))"),
        ("fe80::1%eth\u{1b}", "character \"\\x1b\" cannot be in an interface name (\(accepted))"),
        ("fe80::1%abcdefghijklmnop", "zone \"abcdefghijklmnop\" is longer than an interface name can be (15 bytes)"),
        (
            "fe80::/64%eth0",
            "a zone cannot be given with a CIDR block (name link-local hosts one at a time with their interface, such as fe80::1%eth0)"
        ),
        (
            "fe80::%eth0/64",
            "a zone cannot be given with a CIDR block (name link-local hosts one at a time with their interface, such as fe80::1%eth0)"
        ),
        ("fe80:::1%eth0", "not a valid IPv6 address (eight groups of up to four hex digits, \"::\" at most once, such as 2001:db8::1)"),
    ])
    func rejectsBadZones(text: String, reason: String) {
        #expect(throws: TargetError.invalid(item: text, origin: .argument, reason: reason)) { try TargetSpec.parse(text) }
    }

    @Test func zonesResolveByNameOrIndex() throws {
        let s = try set(["fe80::1%eth0", "fe80::1%2", "fe80::1%wlan0", "fe80::9%7"])
        // fe80::1%2 is fe80::1%eth0: the same target, once. The same address on another interface is another host.
        #expect(Array(s).map(\.addressText) == ["fe80::1%eth0", "fe80::1%wlan0", "fe80::9%wlan0"])
        #expect(
            Array(s).map(\.zone) == [
                InterfaceZone(name: "eth0", index: 2), InterfaceZone(name: "wlan0", index: 7), InterfaceZone(name: "wlan0", index: 7),
            ])
        #expect(s.count == AddressCount(3) && !s.isEmpty && s.ranges.isEmpty)
        #expect(s.scoped.allSatisfy { $0.address.isLinkLocal && $0.hostname == nil })
        // An interface named with digits wins over the index it spells.
        let digits = [NetworkInterface(index: 3, name: "7"), NetworkInterface(index: 7, name: "eth7")]
        #expect(digits.interface(forZone: "7")?.index == 3 && digits.interface(forZone: "3")?.name == "7")
        #expect(digits.interface(forZone: "eth9") == nil && digits.interface(forZone: "99") == nil)
    }

    @Test func unknownInterfacesAreNamedWithWhatExists() throws {
        #expect(
            throws: TargetError.unknownInterface(target: "fe80::1%eth9", zone: "eth9", available: "lo, eth0, wlan0", origin: "target")
        ) { try set(["10.0.0.1", "fe80::1%eth9"]) }
        #expect(
            TargetError.unknownInterface(target: "fe80::1%eth9", zone: "eth9", available: "lo, eth0, wlan0", origin: "target")
                .description == "target \"fe80::1%eth9\": no interface eth9; interfaces: lo, eth0, wlan0")
        #expect(
            TargetError.unknownInterface(target: "fe80::1%9", zone: "9", available: "lo", origin: "--exclude").description
                == "--exclude \"fe80::1%9\": no interface named 9 or with index 9; interfaces: lo")
        #expect(throws: TargetError.unknownInterface(target: "fe80::1%3", zone: "3", available: "lo, eth0, wlan0", origin: "--exclude")) {
            try set(["10.0.0.1"], excluding: ["fe80::1%3"])
        }
        // Without any interface list, a zone cannot resolve.
        #expect(throws: TargetError.unknownInterface(target: "fe80::1%eth0", zone: "eth0", available: "none", origin: "target")) {
            try TargetSet(targets: [.scoped(IPAddress(parsing: "fe80::1")!, zone: "eth0")])
        }
    }

    @Test func scopedTargetsTakeTheirPlaceInOrderAndHonourExcludes() throws {
        let s = try set(["fd00::1", "10.0.0.1", "fe80::2%eth0", "fe80::1%wlan0", "fe80::1%eth0", "ff00::1"])
        #expect(Array(s).map(\.addressText) == ["10.0.0.1", "fd00::1", "fe80::1%eth0", "fe80::1%wlan0", "fe80::2%eth0", "ff00::1"])
        #expect(s.count == AddressCount(6))
        // A zoned exclude takes out that interface's target; a plain block takes out every zone.
        let t = try set(["fe80::1%eth0", "fe80::1%wlan0", "fe80::2%eth0"], excluding: ["fe80::1%2"])
        #expect(Array(t).map(\.addressText) == ["fe80::1%wlan0", "fe80::2%eth0"])
        let u = try set(["fe80::1%eth0", "fe80::1%wlan0", "10.0.0.1"], excluding: ["fe80::/10"])
        #expect(Array(u).map(\.addressText) == ["10.0.0.1"] && u.count == AddressCount(1))
        #expect(try set(["fe80::1%eth0"], excluding: ["fe80::1"]).isEmpty)
        // Scoped targets count toward the size limit.
        #expect(throws: TargetError.tooLarge(count: AddressCount(3), limit: 2)) {
            try TargetSet(
                targets: TargetSpec.parseList(["10.0.0.1", "fe80::1%eth0", "fe80::1%wlan0"]), interfaces: Self.interfaces, limit: 2)
        }
    }

    @Test func scanTargetsAndHostsShowTheirZone() {
        let zone = InterfaceZone(name: "eth0", index: 2)
        let target = ScanTarget(address: ip("fe80::1"), zone: zone)
        #expect(target.addressText == "fe80::1%eth0" && ScanTarget(address: ip("fe80::1")).addressText == "fe80::1")
        #expect(target != ScanTarget(address: ip("fe80::1"), zone: InterfaceZone(name: "wlan0", index: 7)))
        #expect(ScanHostResult(address: ip("fe80::1"), zone: zone).addressText == "fe80::1%eth0")
    }

    @Test func zonedHostsRenderWithTheirZone() {
        let port = ScanPortResult(proto: .tcp, port: 22, state: .open, reason: .synAck)
        let host = ScanHostResult(address: ip("fe80::1"), zone: InterfaceZone(name: "eth0", index: 2), ports: [port])
        let plain = ScanHostResult(address: ip("fd00::1"), ports: [port])
        let report = ScanReport(hosts: [host, plain], startTime: 0, endTime: 1, durationMilliseconds: 5, arguments: ["portcullis"])
        let text = OutputSink.text { ScanRenderer.writeText(report, style: TableStyle(color: false), to: &$0) }
        #expect(text.contains("Scan report for fe80::1%eth0\n") && text.contains("Scan report for fd00::1\n"))
        let named = ScanHostResult(address: ip("fe80::1"), hostname: "router.lan", zone: InterfaceZone(name: "eth0", index: 2))
        let namedText = OutputSink.text {
            ScanRenderer.writeText(
                ScanReport(hosts: [named], startTime: 0, endTime: 1, durationMilliseconds: 5, arguments: []),
                style: TableStyle(color: false),
                to: &$0)
        }
        #expect(namedText.contains("Scan report for router.lan (fe80::1%eth0)"))
        let json = ScanRenderer.json(report).serialized()
        #expect(json.contains(#"{"address":"fe80::1","zone":"eth0","family":"ipv6","#))
        #expect(json.contains(#"{"address":"fd00::1","zone":null,"family":"ipv6","#))
        // nmap writes a scoped target's address without the zone, and ndiff matches hosts by it.
        let xml = ScanXML.document(report, tcpPorts: [22], udpPorts: [], version: "test") { _, _ in nil }
        #expect(xml.contains(#"<address addr="fe80::1" addrtype="ipv6"/>"#) && !xml.contains("%eth0"))
    }

    @Test func acceptsZoneOnlyOnLinkScope() {
        #expect(ip("fe80::1").acceptsZone && ip("febf::1").acceptsZone && !ip("fec0::1").acceptsZone)
        #expect(ip("ff02::1").acceptsZone && ip("ff01::1").acceptsZone && ip("ff32::1").acceptsZone)
        #expect(!ip("ff05::1").acceptsZone && !ip("ff0e::1").acceptsZone && !ip("2001:db8::1").acceptsZone)
        #expect(!IPAddress(v4: 169, 254, 0, 1).acceptsZone && !ip("::ffff:169.254.0.1").acceptsZone)
    }
}
