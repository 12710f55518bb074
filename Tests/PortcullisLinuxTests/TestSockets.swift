import Glibc
import PortcullisCore
import Testing

/// Sockets this test process holds itself (loopback or wildcard
/// addresses, kernel-chosen ports unless given), closed with the object.
final class TestSockets {
    private(set) var fds: [Int32] = []
    deinit { for fd in fds { close(fd) } }

    /// Binds `address` on a kernel-chosen port (TCP also listens); returns the port.
    func open(_ proto: TransportProtocol, ipv6: Bool, address: String, v6only: Bool = true, port: UInt16 = 0) throws -> UInt16 {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(proto == .udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        fds.append(fd)
        if ipv6 {
            var flag: Int32 = v6only ? 1 : 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &flag, socklen_t(MemoryLayout<Int32>.size))
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            _ = inet_pton(AF_INET6, address, &sa.sin6_addr)
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            try #require(rc == 0, "bind [\(address)]:\(port): errno \(errno)")
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            _ = inet_pton(AF_INET, address, &sa.sin_addr)
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            try #require(rc == 0, "bind \(address):\(port): errno \(errno)")
        }
        if proto == .tcp { try #require(listen(fd, 16) == 0) }
        return try localPort(fd)
    }

    /// An outgoing TCP connection to 127.0.0.1:`port` (left in the backlog, not accepted); returns its ephemeral port.
    func connectTCP4(to port: UInt16) throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        fds.append(fd)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(rc == 0)
        return try localPort(fd)
    }

    /// A TCP connection over [::1] closed by the client first: the client's
    /// port is left in TIME_WAIT (no socket, no inode). Returns that port.
    func timeWaitV6() throws -> UInt16 {
        let listener = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let client = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(listener >= 0 && client >= 0)
        defer { close(listener) }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_addr = in6addr_loopback
        let size = socklen_t(MemoryLayout<sockaddr_in6>.size)
        try #require(withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) } } == 0)
        try #require(listen(listener, 4) == 0)
        sa.sin6_port = try localPort(listener).bigEndian
        try #require(withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, size) } } == 0)
        let accepted = accept(listener, nil, nil)
        try #require(accepted >= 0)
        let port = try localPort(client)
        close(client)
        usleep(20_000)
        close(accepted)
        usleep(20_000)
        return port
    }

    /// A TCP socket bound to 127.0.0.1 on a kernel-chosen port, neither listening nor connected.
    func bindOnly() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        fds.append(fd)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(rc == 0)
        return try localPort(fd)
    }

    private func localPort(_ fd: Int32) throws -> UInt16 {
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let rc = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        try #require(rc == 0)
        return UInt16(bigEndian: bound.sin6_port)  // sin_port sits at the same offset
    }
}
