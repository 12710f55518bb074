import PortcullisCore
import Testing

/// What a port scan refuses to send to: named alone it is an error, inside
/// a block it is left out with a notice.
@Suite struct TargetRefusalTests {
    func set(
        _ targets: [String], excluding excludes: [String] = [], resolved: [String: [IPAddress]] = [:], allowLarge: Bool = false
    ) throws -> TargetSet {
        try TargetSet(
            targets: TargetSpec.parseList(targets), excluding: TargetSpec.parseList(excludes, origin: .exclude),
            resolved: resolved, interfaces: TargetZoneTests.interfaces, screening: true, allowLarge: allowLarge)
    }

    static let single = "a port scan sends only to single hosts"

    @Test(arguments: [
        ("224.0.0.1", "224.0.0.1 is a multicast address (224.0.0.0/4): \(single)"),
        ("239.255.255.250", "239.255.255.250 is a multicast address (224.0.0.0/4): \(single)"),
        ("::ffff:224.0.0.251", "::ffff:224.0.0.251 is a multicast address (224.0.0.0/4): \(single)"),
        ("ff02::1", "ff02::1 is a multicast address (ff00::/8): \(single)"),
        ("ff02::1%eth0", "ff02::1 is a multicast address (ff00::/8): \(single)"),
        ("255.255.255.255", "255.255.255.255 is the limited broadcast address: \(single)"),
        ("10.0.0.255", "10.0.0.255 is the broadcast address of 10.0.0.0/24 on eth0: \(single)"),
        ("10.0.0.255/32", "10.0.0.255 is the broadcast address of 10.0.0.0/24 on eth0: \(single)"),
        ("10.0.0.255-255", "10.0.0.255 is the broadcast address of 10.0.0.0/24 on eth0: \(single)"),
        ("192.168.1.255", "192.168.1.255 is the broadcast address of 192.168.1.0/24 on wlan0: \(single)"),
        ("127.255.255.255", "127.255.255.255 is the broadcast address of 127.0.0.0/8 on lo: \(single)"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address: a connect to it reaches this host itself (to scan this host, name 127.0.0.1)"),
        ("::", ":: is the unspecified address: a connect to it reaches this host itself (to scan this host, name ::1)"),
        ("fe80::1", "fe80::1 is link-local: name the interface, as fe80::1%eth0 (interfaces: lo, eth0, wlan0)"),
        (
            "fe80::/64",
            "it is link-local: name link-local hosts one at a time with their interface, as fe80::1%eth0 (interfaces: lo, eth0, wlan0)"
        ),
        ("224.0.0.0/24", "every address of it is multicast (224.0.0.0/4): \(single)"),
        ("ff02::/16", "every address of it is multicast (ff00::/8): \(single)"),
    ])
    func singleTargetsAreRefused(text: String, reason: String) throws {
        let spec = try TargetSpec.parse(text)
        #expect(throws: TargetError.refused(target: spec.description, reason: reason)) { try set(["10.0.0.1", text]) }
        #expect(TargetError.refused(target: spec.description, reason: reason).description == "target \"\(spec.description)\": \(reason)")
    }

    @Test func ordinaryAddressesPass() throws {
        // Not a connected subnet's broadcast: scanned, as nmap scans it.
        let s = try set(["10.0.1.255", "192.168.2.255", "172.16.0.3", "172.16.0.2", "10.0.0.0", "fe80::1%eth0", "169.254.0.1"])
        #expect(
            Array(s).map(\.addressText) == [
                "10.0.0.0", "10.0.1.255", "169.254.0.1", "172.16.0.2", "172.16.0.3", "192.168.2.255", "fe80::1%eth0",
            ])
        #expect(s.diagnostics.isEmpty)
    }

    @Test func hostnamesResolvingToRefusedAddressesAreRefused() throws {
        let reason = "it resolves to 224.0.0.251; 224.0.0.251 is a multicast address (224.0.0.0/4): \(Self.single)"
        #expect(throws: TargetError.refused(target: "mdns.example", reason: reason)) {
            try set(["mdns.example"], resolved: ["mdns.example": [IPAddress(v4: 224, 0, 0, 251)]])
        }
        // An excluded name is not screened.
        #expect(
            try set(["10.0.0.1"], excluding: ["bc.example"], resolved: ["bc.example": [IPAddress(v4: 10, 0, 0, 255)]]).count
                == AddressCount(1))
    }

    @Test func blocksLeaveOutOnlyTheConnectedBroadcast() throws {
        // 10.0.0.0/24 is eth0's subnet: .255 is left out, .0 kept (nmap scans both; Linux broadcasts only to .255).
        let s = try set(["10.0.0.0/24"])
        #expect(s.count == AddressCount(255))
        #expect(s.contains(IPAddress(v4: 10, 0, 0, 0)) && s.contains(IPAddress(v4: 10, 0, 0, 254)))
        #expect(!s.contains(IPAddress(v4: 10, 0, 0, 255)))
        #expect(
            s.diagnostics.map(\.description) == [
                "notice: leaving out 10.0.0.255: the broadcast address of 10.0.0.0/24 on eth0; \(Self.single)"
            ])
        // A subnet this host is not on is scanned whole, as nmap does.
        let other = try set(["10.0.1.0/24"])
        #expect(other.count == AddressCount(256) && other.diagnostics.isEmpty)
        // A wider block holding the connected subnet, and a range ending on its broadcast address.
        #expect(try set(["10.0.0.0/23"]).count == AddressCount(511))
        let range = try set(["10.0.0.250-255"])
        #expect(Array(range).map(\.address.description) == ["10.0.0.250", "10.0.0.251", "10.0.0.252", "10.0.0.253", "10.0.0.254"])
        // The explicit brd of wlan0 and the computed one are the same address: one notice.
        #expect(try set(["192.168.1.0/24"]).diagnostics.count == 1)
        // /31 has no broadcast address (RFC 3021): both kept.
        #expect(try set(["172.16.0.2/31"]).count == AddressCount(2))
        // Excluded by the user already: no notice.
        #expect(try set(["10.0.0.0/24"], excluding: ["10.0.0.128/25"]).diagnostics.isEmpty)
    }

    @Test func wideBlocksLeaveOutMulticastUnspecifiedAndLinkLocal() throws {
        let s = try set(["0.0.0.0/0"], allowLarge: true)
        // 2^32 less 0.0.0.0, 224.0.0.0/4, 255.255.255.255 and the three connected broadcasts.
        #expect(s.count == AddressCount(4_294_967_296 - 1 - 268_435_456 - 1 - 3))
        #expect(s.prefix(2).map(\.address.description) == ["0.0.0.1", "0.0.0.2"])
        #expect(
            s.diagnostics.map(\.description) == [
                "notice: leaving out 0.0.0.0: the unspecified address (a connect to it reaches this host itself)",
                "notice: leaving out 255.255.255.255: the limited broadcast address; \(Self.single)",
                "notice: leaving out 224.0.0.0-239.255.255.255 (268435456 addresses): multicast (224.0.0.0/4); \(Self.single)",
                "notice: leaving out 127.255.255.255: the broadcast address of 127.0.0.0/8 on lo; \(Self.single)",
                "notice: leaving out 10.0.0.255: the broadcast address of 10.0.0.0/24 on eth0; \(Self.single)",
                "notice: leaving out 192.168.1.255: the broadcast address of 192.168.1.0/24 on wlan0; \(Self.single)",
            ])
        let v6 = try set(["fe00::/7"], allowLarge: true)
        #expect(
            v6.ranges.map(\.description) == [
                "fe00::-fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ])
        #expect(
            v6.diagnostics.map(\.description) == [
                "notice: leaving out fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff (332306998946228968225951765070086144 addresses): "
                    + "link-local without an interface (name link-local hosts one at a time with their zone, as fe80::1%eth0)",
                "notice: leaving out ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff (1329227995784915872903807060280344576 addresses): "
                    + "multicast (ff00::/8); \(Self.single)",
            ])
        // Pieces of a rule's block split by excludes are counted together.
        let split = try set(["224.0.0.0/3", "10.0.0.1"], excluding: ["224.0.0.128/25", "240.0.0.0/4"], allowLarge: true)
        #expect(split.count == AddressCount(1))
        #expect(
            split.diagnostics.map(\.description) == [
                "notice: leaving out 268435328 addresses of 224.0.0.0-239.255.255.255: multicast (224.0.0.0/4); \(Self.single)"
            ])
    }

    @Test func withoutScreeningNothingIsRefused() throws {
        let s = try TargetSet(
            targets: TargetSpec.parseList(["224.0.0.1", "10.0.0.255", "0.0.0.0"]), interfaces: TargetZoneTests.interfaces)
        #expect(s.count == AddressCount(3))
    }

    @Test func broadcastAddressesOfAnInterface() {
        let eth = NetworkInterface(
            index: 2, name: "eth0",
            addresses: [
                InterfaceAddress(address: IPAddress(v4: 10, 0, 0, 5), prefixLength: 24),
                InterfaceAddress(address: IPAddress(v4: 10, 1, 0, 5), prefixLength: 16, broadcast: IPAddress(v4: 10, 1, 0, 255)),
                InterfaceAddress(address: IPAddress(v4: 10, 2, 0, 5), prefixLength: 32),
                InterfaceAddress(address: IPAddress(parsing: "fd00::5")!, prefixLength: 64),
            ])
        #expect(
            eth.broadcastAddresses.map { "\($0.address) \($0.network.first)/\($0.prefixLength)" } == [
                "10.0.0.255 10.0.0.0/24", "10.1.255.255 10.1.0.0/16", "10.1.0.255 10.1.0.0/16",
            ])
    }
}
