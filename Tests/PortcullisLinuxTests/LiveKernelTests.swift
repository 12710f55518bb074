import Foundation
import Glibc
import Testing
@testable import PortcullisCore
@testable import PortcullisLinux

/// Sockets this test process opens itself, on loopback or wildcard addresses.
final class OwnSockets {
    var fds: [Int32] = []
    deinit { for fd in fds { close(fd) } }

    /// Binds to an ephemeral port chosen by the kernel; returns the port.
    func open(ipv6: Bool, address: String, udp: Bool, v6only: Bool? = nil) throws -> UInt16 {
        // CLOEXEC: subprocesses that concurrent tests spawn must not inherit (and co-own) these.
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        fds.append(fd)
        var on: Int32 = 1
        if let v6only {
            var value: Int32 = v6only ? 1 : 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if ipv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            _ = inet_pton(AF_INET6, address, &sa.sin6_addr)
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            try #require(rc == 0)
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            _ = inet_pton(AF_INET, address, &sa.sin_addr)
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            try #require(rc == 0)
        }
        if !udp { try #require(listen(fd, 8) == 0) }
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: bound.sin6_port)  // sin_port sits at the same offset
    }
}

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
        let own = OwnSockets()
        let tcp4 = try own.open(ipv6: false, address: "127.0.0.1", udp: false)
        let tcp6only = try own.open(ipv6: true, address: "::", udp: false, v6only: true)
        let tcp6dual = try own.open(ipv6: true, address: "::", udp: false, v6only: false)
        let udp6 = try own.open(ipv6: true, address: "::1", udp: true)
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
        let own = OwnSockets()
        let ports: Set<UInt16> = [
            try own.open(ipv6: false, address: "0.0.0.0", udp: false),
            try own.open(ipv6: true, address: "::1", udp: true),
            try own.open(ipv6: true, address: "::", udp: false, v6only: true),
        ]
        // Other tests open sockets concurrently: compare only ours.
        func keys(_ inventory: Inventory) -> Set<String> {
            Set(inventory.entries.filter { ports.contains($0.socket.localPort) }.map {
                "\($0.socket.proto) \($0.socket.localAddress) \($0.socket.localPort) \($0.socket.inode) \($0.owners.contains { $0.pid == getpid() })"
            })
        }
        let viaNetlink = keys(try collect(.netlink))
        let viaProc = keys(try collect(.procfs))
        #expect(viaNetlink.count == 3)
        #expect(viaNetlink == viaProc)
    }

    @Test func whoFindsOurListenerAndItsParents() throws {
        let own = OwnSockets()
        let port = try own.open(ipv6: false, address: "127.0.0.1", udp: false)
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
