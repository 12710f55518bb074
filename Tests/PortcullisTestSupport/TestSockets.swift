import Foundation
import Glibc
import PortcullisCore

/// A socket call that failed while a test set up its sockets.
public struct SocketSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ call: String) { description = "\(call): errno \(errno) (\(String(cString: strerror(errno))))" }
}

/// Sockets this test process holds itself (loopback or wildcard addresses,
/// kernel-chosen ports unless given), close-on-exec so spawned children do
/// not co-own them, closed with the object.
public final class TestSockets {
    public private(set) var fds: [Int32] = []

    public init() {}
    deinit { for fd in fds { close(fd) } }

    /// Binds `address` (IPv6 sockets IPV6_V6ONLY unless `v6only` is false);
    /// TCP also listens unless told not to. Returns the port.
    @discardableResult
    public func open(
        _ proto: TransportProtocol, ipv6: Bool, address: String, v6only: Bool = true, port: UInt16 = 0,
        listening: Bool = true
    ) throws -> UInt16 {
        let fd = try newSocket(ipv6: ipv6, type: proto == .udp ? SOCK_DGRAM : SOCK_STREAM)
        if ipv6 {
            var flag: Int32 = v6only ? 1 : 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &flag, socklen_t(MemoryLayout<Int32>.size))
        }
        try bindTo(fd, ipv6: ipv6, address: address, port: port)
        if proto == .tcp, listening, listen(fd, 128) != 0 { throw SocketSetupError("listen") }
        return try Self.port(of: fd)
    }

    /// A TCP socket bound to 127.0.0.1 on a kernel-chosen port, neither
    /// listening nor connected: its port refuses connections.
    public func bindOnly() throws -> UInt16 {
        try open(.tcp, ipv6: false, address: "127.0.0.1", listening: false)
    }

    /// An outgoing TCP connection to 127.0.0.1:`port` (left in the backlog,
    /// not accepted); returns its ephemeral port.
    public func connectTCP4(to port: UInt16) throws -> UInt16 {
        let fd = try newSocket(ipv6: false, type: SOCK_STREAM)
        let rc = Self.withAddress(ipv6: false, address: "127.0.0.1", port: port) { connect(fd, $0, $1) }
        if rc != 0 { throw SocketSetupError("connect 127.0.0.1:\(port)") }
        return try Self.port(of: fd)
    }

    /// A TCP connection over [::1] closed by the client first: the client's
    /// port is left in TIME_WAIT (no socket, no inode). Returns that port.
    public func timeWaitV6() throws -> UInt16 {
        let scratch = TestSockets()
        let listenerPort = try scratch.open(.tcp, ipv6: true, address: "::1")
        let listener = scratch.fds[0]
        let client = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard client >= 0 else { throw SocketSetupError("socket") }
        let rc = Self.withAddress(ipv6: true, address: "::1", port: listenerPort) { connect(client, $0, $1) }
        guard rc == 0 else {
            close(client)
            throw SocketSetupError("connect [::1]:\(listenerPort)")
        }
        let accepted = accept(listener, nil, nil)
        let port = Result { try Self.port(of: client) }
        close(client)  // the client closes first: its end goes to TIME_WAIT
        usleep(20_000)
        guard accepted >= 0 else { throw SocketSetupError("accept") }
        close(accepted)
        usleep(20_000)
        return try port.get()
    }

    /// A TCP connection to `address`:`port` (a port the caller chose, free
    /// for TCP) closed by the server first: the server's end, local port
    /// `port`, is left in TIME_WAIT for a minute — a TCP socket on that port
    /// with no descriptor, no inode and no owner. The listener is closed again.
    public func serverTimeWait(ipv6: Bool, address: String, port: UInt16) throws {
        let scratch = TestSockets()
        try scratch.open(.tcp, ipv6: ipv6, address: address, port: port)
        let listener = scratch.fds[0]
        let client = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard client >= 0 else { throw SocketSetupError("socket") }
        let rc = Self.withAddress(ipv6: ipv6, address: address, port: port) { connect(client, $0, $1) }
        guard rc == 0 else {
            close(client)
            throw SocketSetupError("connect \(address) port \(port)")
        }
        let accepted = accept(listener, nil, nil)
        guard accepted >= 0 else {
            close(client)
            throw SocketSetupError("accept")
        }
        close(accepted)  // the server closes first: its end goes to TIME_WAIT once the client closes
        usleep(20_000)
        close(client)
        usleep(20_000)
    }

    /// The local port of a socket.
    public static func port(of fd: Int32) throws -> UInt16 {
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let rc = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if rc != 0 { throw SocketSetupError("getsockname") }
        return UInt16(bigEndian: bound.sin6_port)  // sin_port sits at the same offset
    }

    private func newSocket(ipv6: Bool, type: __socket_type) throws -> Int32 {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketSetupError("socket") }
        fds.append(fd)
        return fd
    }

    private func bindTo(_ fd: Int32, ipv6: Bool, address: String, port: UInt16) throws {
        let rc = Self.withAddress(ipv6: ipv6, address: address, port: port) { bind(fd, $0, $1) }
        if rc != 0 { throw SocketSetupError(ipv6 ? "bind [\(address)]:\(port)" : "bind \(address):\(port)") }
    }

    static func withAddress(ipv6: Bool, address: String, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        if ipv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            _ = inet_pton(AF_INET6, address, &sa.sin6_addr)
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, address, &sa.sin_addr)
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// One TCP listener held by the test process (127.0.0.1 unless told),
/// closed with the object.
public final class LocalListener {
    private let sockets = TestSockets()
    public let port: UInt16
    public var fd: Int32 { sockets.fds[0] }

    public init(address: String = "127.0.0.1") throws {
        port = try sockets.open(.tcp, ipv6: address.contains(":"), address: address)
    }
}

/// A port on which nothing is bound right now, for TCP or UDP, IPv4 or IPv6
/// (checked by binding it, then letting it go).
public func currentlyFreePort() -> UInt16? {
    for _ in 0..<50 {
        guard let port = bindDualStack(SOCK_STREAM, port: 0) else { return nil }
        if bindDualStack(SOCK_DGRAM, port: port) != nil { return port }
    }
    return nil
}

/// A port below the ephemeral range that nothing uses in TCP or UDP, IPv4
/// or IPv6, picked at random: for a test that needs its own port number
/// (the hide-port library hides every socket with that local port, so
/// another program's socket on it would show up as a second finding).
public func exclusivePort() -> UInt16? {
    let range =
        (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
        .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) } ?? []
    let below = max(10_001, (range.first ?? 32_768) - 1)
    for _ in 0..<200 {
        let port = UInt16(Int.random(in: 10_000..<below))
        if portIsFree(port) { return port }
    }
    return nil
}

/// Whether `port` is free right now for TCP and UDP on IPv4 and IPv6.
public func portIsFree(_ port: UInt16) -> Bool {
    bindDualStack(SOCK_STREAM, port: port) != nil && bindDualStack(SOCK_DGRAM, port: port) != nil
}

/// Binds [::]:port dual-stack (port 0: any) and lets it go: one bind checks
/// IPv4 and IPv6 at once. The port bound, or nil.
private func bindDualStack(_ type: __socket_type, port: UInt16) -> UInt16? {
    try? TestSockets().open(type == SOCK_DGRAM ? .udp : .tcp, ipv6: true, address: "::", v6only: false, port: port, listening: false)
}
