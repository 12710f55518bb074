import Testing

@testable import PortcullisCore

/// A small inventory exercising every column, used by several suites.
enum SampleInventory {
    static func socket(
        _ proto: TransportProtocol, _ address: String, _ port: UInt16, state: SocketState = .listen,
        inode: UInt64, uid: UInt32 = 0, v6only: Bool? = nil, remote: String? = nil, remotePort: UInt16 = 0
    ) -> SocketRecord {
        let local = IPAddress(parsing: address) ?? .anyV4
        let family: AddressFamily = local.kind == .v4 ? .ipv4 : .ipv6
        let stateCode = proto == .tcp ? state.rawValue : (remote == nil ? SocketState.close.rawValue : SocketState.established.rawValue)
        return SocketRecord(
            proto: proto, family: family, localAddress: local, localPort: port,
            remoteAddress: remote.flatMap(IPAddress.init(parsing:)) ?? (family == .ipv4 ? .anyV4 : .anyV6),
            remotePort: remotePort, stateCode: stateCode, inode: inode, uid: uid, v6only: v6only,
            rawProtocol: proto == .raw ? UInt8(port) : nil)
    }

    static let sshd = SocketOwner(
        pid: 812, ppid: 1, name: "sshd", cmdline: "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        exe: "/usr/sbin/sshd", uid: 0, user: "root", startTime: 1_795_000_000, unit: "ssh.service",
        netnsInode: 4_026_531_833, fds: [3])
    static let redis = SocketOwner(
        pid: 900, ppid: 1, name: "redis-server", cmdline: "/usr/bin/redis-server 0.0.0.0:7777", exe: "/usr/bin/redis-server",
        uid: 107, user: "redis", unit: "redis-server.service", fds: [6])
    static func worker(_ pid: Int32) -> SocketOwner {
        SocketOwner(
            pid: pid, ppid: 1000, name: "nginx", cmdline: "nginx: worker process", exe: "/usr/sbin/nginx",
            uid: 33, user: "www-data", unit: "nginx.service", container: String(repeating: "ab", count: 32), fds: [6])
    }
    /// A backdoor whose name and command line hold a newline and an ANSI
    /// escape: the raw bytes of its /proc/PID/stat and cmdline, through the
    /// parsers the owner resolver uses, so the escaping under test is the real one.
    static let evil = SocketOwner(
        pid: 4242, ppid: 1,
        name: ProcessFiles.parseStat(
            Array("4242 (kworker\n\u{1b}[31m) S 1 4242 4242 0 -1 4194560 9 0 0 0 1 2 0 0 20 0 1 0 1795 4096 100\n".utf8))!.name,
        cmdline: ProcessFiles.commandLine(Array("/tmp/.x/kworker\n\0".utf8)), exe: "/tmp/.x/kworker", exeDeleted: true,
        uid: 0, user: "root", fds: [4])

    static let sockets: [SocketRecord] = [
        socket(.tcp, "0.0.0.0", 22, inode: 100),
        socket(.tcp, "::", 22, inode: 101, v6only: true),
        socket(.tcp, "0.0.0.0", 7777, inode: 102, uid: 107),
        socket(.tcp, "::", 80, inode: 103, uid: 33, v6only: false),
        socket(.tcp, "127.0.0.1", 631, inode: 104),
        socket(.tcp, "::ffff:127.0.0.1", 5432, inode: 105, v6only: false),
        socket(.udp, "0.0.0.0", 2024, inode: 106),
        socket(.tcp, "0.0.0.0", 31337, inode: 107),
        socket(.tcp, "127.0.0.1", 46598, state: .timeWait, inode: 0, remote: "127.0.0.1", remotePort: 22),
        socket(.raw, "0.0.0.0", 1, inode: 108),
        socket(.tcp, "fe80::1", 9100, inode: 109, v6only: true),
        socket(.tcp, "192.0.2.7", 50000, inode: 110),
    ]

    static let owners: [UInt64: [SocketOwner]] = [
        100: [sshd], 101: [sshd], 102: [redis], 103: (1001...1005).map(worker), 104: [], 107: [evil],
        108: [evil], 110: [sshd],
    ]

    static func inventory(euid: UInt32 = 0, denied: Bool = false) -> Inventory {
        let builder = InventoryBuilder(
            users: [0: "root", 33: "www-data", 107: "redis"], ephemeralRange: 32768...60999,
            serviceName: { port, proto in
                [22: "ssh", 80: "http", 631: "ipp", 5432: "postgresql", 9100: "jetdirect"][port].flatMap { proto == .tcp ? $0 : nil }
            })
        let context = InventoryBuilder.OwnerContext(
            ownersByInode: owners.filter { !$0.value.isEmpty }, collected: true, someDenied: denied,
            effectiveUID: euid, inChildPIDNamespace: false, goneInodes: [105])
        var entries = builder.entries(for: sockets, owners: context)
        InventoryBuilder.sort(&entries)
        return Inventory(entries: entries, diagnostics: [Diagnostic(.notice, "sample")], source: "netlink")
    }

    static func entry(port: UInt16, proto: TransportProtocol = .tcp, family: AddressFamily? = nil, in inventory: Inventory = inventory())
        -> InventoryEntry?
    {
        inventory.entries.first { $0.socket.localPort == port && $0.socket.proto == proto && (family == nil || $0.socket.family == family) }
    }
}

@Suite struct InventoryBuilderTests {
    @Test func enrichesEverySocket() throws {
        let inventory = SampleInventory.inventory()
        #expect(inventory.entries.count == SampleInventory.sockets.count)
        let ssh6 = try #require(SampleInventory.entry(port: 22, family: .ipv6))
        #expect(ssh6.exposure == .allInterfacesIPv6 && ssh6.service == "ssh" && ssh6.portClass == .system)
        #expect(ssh6.owners.map(\.pid) == [812] && ssh6.unownedReason == nil && ssh6.user == "root")
        let web = try #require(SampleInventory.entry(port: 80))
        #expect(web.owners.count == 5 && web.exposure == .allInterfacesDualStack)
        let postgres = try #require(SampleInventory.entry(port: 5432))
        #expect(postgres.exposure == .loopback)  // ::ffff:127.0.0.1 is loopback
        let dynamic = try #require(SampleInventory.entry(port: 50000))
        #expect(dynamic.portClass == .dynamic && dynamic.inEphemeralRange)
        let raw = try #require(SampleInventory.entry(port: 1, proto: .raw))
        #expect(raw.service == nil && !raw.inEphemeralRange)
    }

    @Test func explainsEveryMissingOwner() throws {
        let root = SampleInventory.inventory()
        #expect(SampleInventory.entry(port: 46598, in: root)?.unownedReason == .noProcessState)  // TIME_WAIT, inode 0
        #expect(SampleInventory.entry(port: 5432, in: root)?.unownedReason == .gone)
        #expect(SampleInventory.entry(port: 631, in: root)?.unownedReason == .kernelSocket)
        #expect(SampleInventory.entry(port: 2024, proto: .udp, in: root)?.unownedReason == .kernelSocket)
        let user = SampleInventory.inventory(euid: 1000)
        #expect(SampleInventory.entry(port: 631, in: user)?.unownedReason == .notPermitted)
        let denied = SampleInventory.inventory(denied: true)
        #expect(SampleInventory.entry(port: 631, in: denied)?.unownedReason == .notPermitted)
        let notice = try #require(InventoryBuilder.unattributedNotice(user.entries))
        #expect(notice.message.hasPrefix("4 sockets could not be attributed to a process: 3 not permitted"))
        #expect(notice.message.contains("CAP_SYS_PTRACE"))
        #expect(!notice.message.contains("no process"))  // TIME_WAIT is expected, not a gap
    }

    @Test func namespacesAndUncollected() {
        let socket = SampleInventory.socket(.tcp, "0.0.0.0", 9, inode: 5)
        func reason(_ context: InventoryBuilder.OwnerContext) -> UnownedReason? {
            InventoryBuilder(users: [:], ephemeralRange: nil, serviceName: { _, _ in nil }).entry(for: socket, owners: context)
                .unownedReason
        }
        #expect(
            reason(.init(ownersByInode: [:], collected: true, someDenied: false, effectiveUID: 0, inChildPIDNamespace: true))
                == .otherPIDNamespace)
        #expect(
            reason(.init(ownersByInode: [:], collected: false, someDenied: false, effectiveUID: 0, inChildPIDNamespace: false))
                == .notCollected)
    }

    @Test func sortsByProtocolPortFamilyAddress() {
        let ports = SampleInventory.inventory().entries.map {
            "\($0.socket.proto.rawValue)/\($0.socket.localPort)/\($0.socket.family.rawValue)"
        }
        #expect(ports.prefix(3) == ["tcp/22/ipv4", "tcp/22/ipv6", "tcp/80/ipv6"])
        #expect(ports.suffix(2) == ["udp/2024/ipv4", "raw/1/ipv4"])
    }
}

@Suite struct FilterTests {
    @Test(arguments: [
        ("22", [22...22] as [ClosedRange<UInt16>]), ("8000-8100", [8000...8100]), ("22,80,443-444", [22...22, 80...80, 443...444]),
        ("0", [0...0]), ("65535", [65535...65535]),
    ])
    func portSpecs(text: String, ranges: [ClosedRange<UInt16>]) throws {
        #expect(try PortSpec(parsing: text).ranges == ranges)
    }

    @Test(arguments: [
        ("65536", "out of range"), ("90-80", "reversed"), ("abc", "not a number"), ("", "empty"),
        ("22,", "empty item"), ("-5", "not a number"), ("1-2-3", "not a number"), ("+22", "not a number"), ("0x16", "not a number"),
    ])
    func badPortSpecsSayWhy(text: String, reason: String) {
        #expect {
            try PortSpec(parsing: text)
        } throws: { error in
            let message = (error as? FilterError)?.description ?? ""
            return message.contains(reason) && message.contains("'\(text)'") && message.contains("--port")
        }
    }

    @Test func scanPortsRejectZero() {
        #expect(throws: FilterError.self) { try PortSpec(parsing: "0", option: "-p", allowZero: false) }
    }

    @Test func filtersCombine() {
        let entries = SampleInventory.inventory().entries
        func count(_ configure: (inout SocketFilter) -> Void) -> Int {
            var filter = SocketFilter()
            configure(&filter)
            return entries.filter(filter.matches).count
        }
        #expect(count { $0.ports = PortSpec(ranges: [22...22]) } == 2)
        #expect(count { $0.pids = [812] } == 3)
        #expect(count { $0.pids = [1003] } == 1)  // one of five pre-forked workers
        #expect(count { $0.user = "redis" } == 1)
        #expect(count { $0.user = "107" } == 1)
        #expect(count { $0.user = "www-data" } == 1)  // matched through the owners
        #expect(count { $0.process = "nginx" } == 1)
        #expect(count { $0.process = "sshd" } == 3)
        #expect(count { $0.portClass = .dynamic } == 1)
        #expect(count { $0.exposedOnly = true } == 9)
        #expect(
            count {
                $0.exposedOnly = true
                $0.process = "sshd"
                $0.ports = PortSpec(ranges: [22...22])
            } == 2)
        #expect(
            count {
                $0.ports = PortSpec(ranges: [1...1])
                $0.portClass = .system
            } == 0)  // raw has no port class
    }

    /// Spellings every output format and the snapshot store use.
    @Test func protocolFamilyAndExposureSpellings() {
        #expect(TransportProtocol.allCases.map(\.rawValue) == ["tcp", "udp", "raw"])
        #expect(AddressFamily.allCases.map(\.rawValue) == ["ipv4", "ipv6"])
        #expect(AddressFamily(IPAddress.anyV4.kind) == .ipv4 && AddressFamily(IPAddress.anyV6.kind) == .ipv6)
        #expect(
            Exposure.allCases.map(\.rawValue) == [
                "loopback", "all_interfaces_ipv4", "all_interfaces_ipv6", "all_interfaces_dual_stack",
                "link_local", "specific_address",
            ])
    }

    @Test func whoTargets() throws {
        #expect(try WhoReport.parseTarget("22") == (22, nil))
        #expect(try WhoReport.parseTarget("53/udp") == (53, .udp))
        #expect(try WhoReport.parseTarget("443/TCP") == (443, .tcp))
        for bad in ["0", "65536", "22/sctp", "22/raw", "x", "", "22/tcp/x", "/tcp"] {
            #expect(throws: FilterError.self) { try WhoReport.parseTarget(bad) }
        }
    }
}
