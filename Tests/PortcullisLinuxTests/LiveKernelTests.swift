import Foundation
import Glibc
import PortcullisTestSupport
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

let hasLiveProc = FileManager.default.fileExists(atPath: "/proc/net/tcp")

@Suite(.enabled(if: hasLiveProc, "needs a live Linux /proc")) struct LiveKernelTests {
    func collect(_ source: SocketSource, all: Bool = false) throws -> Inventory {
        var options = InventoryCollector.Options()
        options.source = source
        options.query = SocketQuery(protocols: [.tcp, .udp], listeningOnly: !all)
        var collector = InventoryCollector(options: options)
        return try collector.collect()
    }

    @Test("The kernel filters an established dump by local port: only the listeners' own connections come back")
    func establishedDumpFilteredByLocalPort() throws {
        let sockets = TestSockets()
        let wanted = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
        let other = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
        for _ in 0..<3 { _ = try sockets.connectTCP4(to: wanted) }
        for _ in 0..<2 { _ = try sockets.connectTCP4(to: other) }
        var client = SockDiagClient()
        let established = SocketState.established.mask
        // dumpRecords sends the bytecode and never falls back: the kernel itself accepts and applies it.
        let filtered = try client.dumpRecords(proto: .tcp, family: .ipv4, states: established, localPorts: [wanted])
        // The three server-side ends of our connections, nothing else.
        #expect(filtered.count == 3 && filtered.allSatisfy { $0.localPort == wanted }, "\(filtered.map(\.localPort))")
        let both = try client.dumpRecords(proto: .tcp, family: .ipv4, states: established, localPorts: [other, wanted])
        #expect(both.filter { $0.localPort == wanted }.count == 3 && both.filter { $0.localPort == other }.count == 2)
        #expect(both.allSatisfy { $0.localPort == wanted || $0.localPort == other })
        let everything = try client.dump(proto: .tcp, family: .ipv4, states: established)
        #expect(everything.filter { $0.localPort == wanted || $0.localPort == other }.count == 5)
        #expect(everything.count >= 10)  // the client ends too
    }

    @Test(.enabled(if: IPv6Loopback.available, "no IPv6 loopback: ::1 cannot be bound"))
    func netlinkFindsOurSocketsAndOwnsThemToUs() throws {
        let own = TestSockets()
        let tcp4 = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let tcp6only = try own.open(.tcp, ipv6: true, address: "::", v6only: true)
        let tcp6dual = try own.open(.tcp, ipv6: true, address: "::", v6only: false)
        let udp6 = try own.open(.udp, ipv6: true, address: "::1")
        let inventory = try collect(.netlink)
        #expect(inventory.source == "netlink" || inventory.source == "netlink+procfs")
        func entry(_ port: UInt16, _ proto: TransportProtocol) throws -> InventoryEntry {
            try #require(inventory.entries.first { $0.socket.localPort == port && $0.socket.proto == proto })
        }
        let me = getpid()
        for (port, proto) in [(tcp4, TransportProtocol.tcp), (tcp6only, .tcp), (tcp6dual, .tcp), (udp6, .udp)] {
            let found = try entry(port, proto)
            #expect(found.owners.map(\.pid) == [me], "port \(port)")
            #expect(found.owners.first?.exe?.isEmpty == false)
        }
        #expect(try entry(tcp4, .tcp).exposure == .loopback)
        #expect(try entry(tcp6only, .tcp).socket.v6only == true)
        #expect(try entry(tcp6only, .tcp).exposure == .allInterfacesIPv6)
        #expect(try entry(tcp6dual, .tcp).exposure == .allInterfacesDualStack)
        #expect(try entry(udp6, .udp).exposure == .loopback)
    }

    @Test(.enabled(if: IPv6Loopback.available, "no IPv6 loopback: ::1 cannot be bound"))
    func netlinkAndProcNetAgree() throws {
        let own = TestSockets()
        let ports: Set<UInt16> = [
            try own.open(.tcp, ipv6: false, address: "0.0.0.0"),
            try own.open(.udp, ipv6: true, address: "::1"),
            try own.open(.tcp, ipv6: true, address: "::", v6only: true),
        ]
        // Other tests open sockets concurrently: compare only ours.
        func keys(_ inventory: Inventory) -> Set<String> {
            Set(
                inventory.entries.filter { ports.contains($0.socket.localPort) }.map {
                    "\($0.socket.proto) \($0.socket.localAddress) \($0.socket.localPort) \($0.socket.inode) \($0.owners.contains { $0.pid == getpid() })"
                })
        }
        let viaNetlink = keys(try collect(.netlink))
        let viaProc = keys(try collect(.procfs))
        #expect(viaNetlink.count == 3)
        #expect(viaNetlink == viaProc)
    }

    @Test func whoFindsOurListenerAndItsParents() throws {
        let own = TestSockets()
        let port = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        var collector = InventoryCollector(options: InventoryCollector.Options())
        let (report, _) = try collector.who(port: port, proto: .tcp)
        #expect(report.isHeld)
        let item = try #require(report.items.first)
        #expect(item.role == .local && item.entry.owners.map(\.pid) == [getpid()])
        let chain = item.ancestors[getpid()] ?? []
        #expect(chain.first?.pid == getppid())
        #expect(chain.last?.pid == 1 || chain.last?.ppid == 0)
    }
}
