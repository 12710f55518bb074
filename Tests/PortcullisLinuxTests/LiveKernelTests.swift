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

    @Test func netlinkFindsOurSocketsAndOwnsThemToUs() throws {
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

    @Test func netlinkAndProcNetAgree() throws {
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
