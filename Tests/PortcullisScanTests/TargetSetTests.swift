import PortcullisCore
import Testing

@Suite struct TargetSetTests {
    func set(
        _ targets: [String], excluding excludes: [String] = [], resolved: [String: [IPAddress]] = [:],
        allowLarge: Bool = false
    ) throws -> TargetSet {
        try TargetSet(
            targets: TargetSpec.parseList(targets), excluding: TargetSpec.parseList(excludes, origin: .exclude),
            resolved: resolved, allowLarge: allowLarge)
    }

    func addresses(_ set: TargetSet) -> [String] { set.map(\.address.description) }

    @Test func duplicatesAndOverlapsCountOnce() throws {
        let s = try set(["10.0.0.1", "10.0.0.0/30", "10.0.0.2-3", "10.0.0.1"])
        #expect(addresses(s) == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(s.count == AddressCount(4))
        #expect(s.ranges.count == 1)
        // Adjacent blocks join into one range.
        #expect(try set(["10.0.0.128/25", "10.0.0.0/25"]).ranges.map(\.description) == ["10.0.0.0-10.0.0.255"])
    }

    @Test func ascendingWithIPv4First() throws {
        let s = try set(["fd00::2", "10.0.0.9", "fd00::1", "10.0.0.1"])
        #expect(addresses(s) == ["10.0.0.1", "10.0.0.9", "fd00::1", "fd00::2"])
        #expect(s.ranges.count == 3)
    }

    @Test func excludesAreSubtracted() throws {
        let s = try set(["10.0.0.0/24"], excluding: ["10.0.0.0,10.0.0.255", "10.0.0.10-20"])
        #expect(s.count == AddressCount(243))
        #expect(s.ranges.map(\.description) == ["10.0.0.1-10.0.0.9", "10.0.0.21-10.0.0.254"])
        #expect(s.contains(IPAddress(v4: 10, 0, 0, 9)) && s.contains(IPAddress(v4: 10, 0, 0, 21)))
        #expect(!s.contains(IPAddress(v4: 10, 0, 0, 0)) && !s.contains(IPAddress(v4: 10, 0, 0, 15)))
        #expect(!s.contains(IPAddress(v4: 10, 0, 1, 1)) && !s.contains(IPAddress(parsing: "fd00::1")!))
        #expect(Array(s).count == 243)
        // Excludes that overlap several targets, or cover a whole one, or hang over an end.
        let t = try set(
            ["10.0.0.0/30", "10.0.0.8/30", "10.0.0.16/30", "fd00::/126"],
            excluding: ["10.0.0.2-9", "10.0.0.16/29", "fd00::3", "192.0.2.1"])
        #expect(t.ranges.map(\.description) == ["10.0.0.0-10.0.0.1", "10.0.0.10-10.0.0.11", "fd00::-fd00::2"])
        // Excluding everything leaves an empty set, not an error.
        let u = try set(["10.0.0.0/24"], excluding: ["10.0.0.0/16"])
        #expect(u.isEmpty && u.count == .zero && Array(u).isEmpty)
        // An IPv4 exclude never removes IPv6 addresses, and the other way round.
        #expect(try set(["::/126"], excluding: ["0.0.0.0/0"]).count == AddressCount(4))
    }

    @Test func sizeLimit() throws {
        #expect(try set(["10.0.0.0/16"]).count == AddressCount(65_536))
        #expect(try set(["fd00::/112"]).count == AddressCount(65_536))
        let message =
            "the targets come to 131072 addresses, more than 65536 (a /16 of IPv4 or a /112 of IPv6); "
            + "narrow them, leave some out with --exclude, or pass --allow-large to scan them all"
        #expect(throws: TargetError.tooLarge(count: AddressCount(131_072), limit: 65_536)) { try set(["10.0.0.0/15"]) }
        #expect(TargetError.tooLarge(count: AddressCount(131_072), limit: 65_536).description == message)
        #expect(throws: TargetError.tooLarge(count: AddressCount(131_072), limit: 65_536)) { try set(["fd00::/111"]) }
        // The limit is on the whole set, both families together, after excludes.
        #expect(throws: TargetError.tooLarge(count: AddressCount(65_537), limit: 65_536)) { try set(["10.0.0.0/16", "fd00::1"]) }
        #expect(try set(["10.0.0.0/15"], excluding: ["10.1.0.0/16"]).count == AddressCount(65_536))
        #expect(try set(["10.0.0.0/15"], allowLarge: true).count == AddressCount(131_072))
        #expect(throws: TargetError.tooLarge(count: AddressCount(11), limit: 10)) {
            try TargetSet(targets: [.range(first: IPAddress(v4: 10, 0, 0, 0), last: IPAddress(v4: 10, 0, 0, 10))], limit: 10)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func hugeSetsStayLazy() throws {
        // A /8 and all of IPv6: counted exactly, never expanded.
        let s = try set(["10.0.0.0/8", "::/0", "0.0.0.0/0"], allowLarge: true)
        #expect(s.ranges.count == 2)
        #expect(s.count.description == "340282366920938463463374607436063178752")  // 2^128 + 2^32
        #expect(s.count.exactValue == nil)
        #expect(s.prefix(3).map(\.address.description) == ["0.0.0.0", "0.0.0.1", "0.0.0.2"])
        let eight = try set(["10.0.0.0/8"], excluding: ["10.0.0.0/9"], allowLarge: true)
        #expect(eight.count == AddressCount(8_388_608))
        #expect(eight.count.exactValue == 8_388_608)
        #expect(eight.first(where: { _ in true })?.address == IPAddress(v4: 10, 128, 0, 0))
        #expect(eight.contains(IPAddress(v4: 10, 255, 255, 255)) && !eight.contains(IPAddress(v4: 10, 127, 255, 255)))
        #expect(try set(["2001:db8::/64"], allowLarge: true).count.description == "18446744073709551616")
    }

    @Test func iterationStopsAtTheTopOfTheAddressSpace() throws {
        #expect(addresses(try set(["255.255.255.254/31"])) == ["255.255.255.254", "255.255.255.255"])
        #expect(
            addresses(try set(["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"]))
                == ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"])
        #expect(addresses(try set(["0.0.0.0/31"])) == ["0.0.0.0", "0.0.0.1"])
        // IPv6 iteration carries from the low half into the high half.
        let carry = try TargetSet(targets: [
            .range(
                first: IPAddress(parsing: "fd00::ffff:ffff:ffff:fffe")!,
                last: IPAddress(parsing: "fd00:0:0:1::1")!)
        ])
        #expect(addresses(carry) == ["fd00::ffff:ffff:ffff:fffe", "fd00::ffff:ffff:ffff:ffff", "fd00:0:0:1::", "fd00:0:0:1::1"])
    }

    @Test func hostnamesNeedResolvingAndLabelTheirAddresses() throws {
        let resolved = [
            "db.example": [IPAddress(v4: 192, 0, 2, 7), IPAddress(parsing: "2001:db8::7")!],
            "skip.example": [IPAddress(v4: 192, 0, 2, 1)],
        ]
        let s = try set(["192.0.2.0/29", "db.example"], excluding: ["skip.example"], resolved: resolved)
        let targets = Array(s)
        #expect(
            targets.map(\.address.description)
                == ["192.0.2.0", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7", "2001:db8::7"])
        #expect(targets.filter { $0.hostname != nil }.map(\.address.description) == ["192.0.2.7", "2001:db8::7"])
        #expect(targets.last == ScanTarget(address: IPAddress(parsing: "2001:db8::7")!, hostname: "db.example"))
        #expect(s.hostname(for: IPAddress(v4: 192, 0, 2, 7)) == "db.example")
        #expect(throws: TargetError.unresolvedHostname("db.example")) { try set(["db.example"]) }
        #expect(throws: TargetError.unresolvedHostname("skip.example")) { try set(["10.0.0.1"], excluding: ["skip.example"]) }
        #expect(
            TargetError.unresolvedHostname("db.example").description
                == "hostname \"db.example\" was not resolved before the target set was built")
    }

    @Test func hostBitsAreNoted() throws {
        let s = try set(["10.0.0.7/24", "10.0.1.0/24"], excluding: ["10.0.0.9/31"])
        #expect(
            s.diagnostics.map(\.description) == [
                "notice: 10.0.0.7/24 has host bits set; scanning the whole network 10.0.0.0/24",
                "notice: 10.0.0.9/31 has host bits set; excluding the whole network 10.0.0.8/31",
            ])
        #expect(s.count == AddressCount(510))
    }

    @Test func addressArithmetic() throws {
        let a = IPAddress(v4: 192, 168, 1, 77)
        #expect(a.masked(toPrefix: 24) == IPAddress(v4: 192, 168, 1, 0))
        #expect(a.lastAddress(inPrefix: 24) == IPAddress(v4: 192, 168, 1, 255))
        #expect(a.masked(toPrefix: 0) == IPAddress(v4: 0, 0, 0, 0) && a.lastAddress(inPrefix: 0) == IPAddress(v4: 255, 255, 255, 255))
        #expect(a.masked(toPrefix: 32) == a && a.masked(toPrefix: 40) == a && a.masked(toPrefix: -1) == .anyV4)
        let b = try #require(IPAddress(parsing: "2001:db8:1:2:3:4:5:6"))
        #expect(b.masked(toPrefix: 64).description == "2001:db8:1:2::")
        #expect(b.lastAddress(inPrefix: 64).description == "2001:db8:1:2:ffff:ffff:ffff:ffff")
        #expect(b.masked(toPrefix: 24).description == "2001:d00::")
        #expect(b.lastAddress(inPrefix: 100).description == "2001:db8:1:2:3:4:fff:ffff")
        #expect(IPAddress(v4: 10, 0, 0, 255).successor == IPAddress(v4: 10, 0, 1, 0))
        #expect(IPAddress(v4: 255, 255, 255, 255).successor == nil && IPAddress.anyV4.predecessor == nil)
        #expect(IPAddress(v4: 10, 0, 1, 0).predecessor == IPAddress(v4: 10, 0, 0, 255))
        #expect(IPAddress(parsing: "::ffff:ffff:ffff:ffff")!.successor == IPAddress(parsing: "0:0:0:1::"))
        #expect(IPAddress(parsing: "0:0:0:1::")!.predecessor == IPAddress(parsing: "::ffff:ffff:ffff:ffff"))
        #expect(IPAddress(parsing: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!.successor == nil && IPAddress.anyV6.predecessor == nil)
        #expect(a.bitWidth == 32 && b.bitWidth == 128)
    }

    @Test func counts() {
        #expect(AddressCount(0).description == "0")
        #expect(AddressCount(65_536).description == "65536")
        #expect(AddressCount(UInt64.max).description == "18446744073709551615")
        #expect((AddressCount(UInt64.max) + AddressCount(1)).description == "18446744073709551616")
        #expect(AddressCount(3) < AddressCount(UInt64.max) + AddressCount(1))
        #expect(AddressRange(first: IPAddress(v4: 10, 0, 0, 2), last: IPAddress(v4: 10, 0, 0, 1)) == nil)
        #expect(AddressRange(first: IPAddress(v4: 10, 0, 0, 2), last: IPAddress.anyV6) == nil)
    }
}
