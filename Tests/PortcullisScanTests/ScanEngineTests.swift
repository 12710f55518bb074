import Foundation
import Glibc
import PortcullisCore
import PortcullisScan
import Testing

/// Loopback listeners held by this test process.
final class LoopbackListeners {
    private(set) var fds: [Int32] = []
    deinit { for fd in fds { close(fd) } }

    /// A TCP socket bound to 127.0.0.1 but not listening: its port refuses connections.
    func bindOnly() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        fds.append(fd)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(rc == 0)
        return try port(of: fd)
    }

    func port(of fd: Int32) throws -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        try #require(rc == 0)
        return withUnsafeBytes(of: storage) { UInt16($0[2]) << 8 | UInt16($0[3]) }
    }

    /// A TCP listener (or bound UDP socket) on 127.0.0.1 or ::1, kernel-chosen port.
    func open(udp: Bool = false, ipv6: Bool = false) throws -> UInt16 {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        fds.append(fd)
        if ipv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_addr = in6addr_loopback
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            try #require(rc == 0)
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            try #require(rc == 0)
        }
        if !udp { try #require(listen(fd, 128) == 0) }
        return try port(of: fd)
    }
}

@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/tcp"), "needs Linux loopback"))
struct ScanEngineTests {
    let loopback = ScanTarget(address: IPAddress(v4: 127, 0, 0, 1))

    @Test func tcpOpenAndClosedOnLoopback() throws {
        let listeners = LoopbackListeners()
        let open = try (0..<20).map { _ in try listeners.open() }
        // Our ports and a closed neighbour of each (sockets bound without
        // listening refuse connections like free ports do).
        let closed = try (0..<20).map { _ in try listeners.bindOnly() }
        let ports = (open + closed).sorted()
        let hosts = ScanEngine.run(hosts: [loopback], tcpPorts: ports, udpPorts: [])
        let host = try #require(hosts.first)
        #expect(host.ports.map(\.port) == ports)
        #expect(Set(host.ports.filter { $0.state == .open }.map(\.port)) == Set(open), "\(host.ports)")
        #expect(Set(host.ports.filter { $0.state == .closed }.map(\.port)) == Set(closed), "\(host.ports)")
        #expect(host.ports.first { open.contains($0.port) }?.reason == .synAck)
        #expect(host.ports.first { $0.state == .closed }?.reason == .connRefused)
    }

    @Test func udpClosedAndOpenFilteredOnLoopback() throws {
        let listeners = LoopbackListeners()
        let bound = try listeners.open(udp: true)
        var options = ScanEngine.Options()
        options.maxRetries = 1
        options.initialTimeoutMilliseconds = 200
        let free = bound == 65535 ? bound - 1 : bound + 1
        let hosts = ScanEngine.run(hosts: [loopback], tcpPorts: [], udpPorts: [bound, free], options: options)
        let ports = try #require(hosts.first).ports
        // A bound socket that never replies: no ICMP, so open|filtered.
        #expect(ports.first { $0.port == bound }?.state == .openFiltered)
        let freeResult = ports.first { $0.port == free }
        #expect(freeResult?.state == .closed && freeResult?.reason == .portUnreachable, "\(String(describing: freeResult))")
    }
}
