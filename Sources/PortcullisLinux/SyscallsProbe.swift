import CPortcullisSys
import PortcullisCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Thin wrappers for the bind and connect probes of `hidden`, in the style of
/// Syscalls.swift: errno read immediately, EINTR retried, `Errno` thrown.
extension Sys {
    /// A TCP or UDP socket of `family`, close-on-exec; non-blocking on request.
    package static func probeSocket(ipv6: Bool, udp: Bool, nonBlocking: Bool = false) throws(Errno) -> Int32 {
        var type = (udp ? CConstant.sockDgram : CConstant.sockStream) | CConstant.sockCloexec
        if nonBlocking { type |= CConstant.sockNonblock }
        return try retrying { socket(ipv6 ? AF_INET6 : AF_INET, type, 0) }
    }

    static func probeSetOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) throws(Errno) {
        var v = value
        _ = try retrying { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// IPV6_V6ONLY=1, so an IPv6 probe does not collide with IPv4 sockets;
    /// 0 for a dual-stack probe that collides with both (set explicitly:
    /// the default follows net.ipv6.bindv6only).
    static func probeSetV6Only(_ fd: Int32, _ on: Bool = true) throws(Errno) {
        try probeSetOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: on ? 1 : 0)
    }

    /// SO_LINGER {on, 0}: close sends RST, so a connect probe leaves no TIME_WAIT.
    package static func probeAbortOnClose(_ fd: Int32) throws(Errno) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = try retrying { setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size)) }
    }

    /// bind(2) to the wildcard address (0.0.0.0 or ::) on `port`.
    static func probeBindWildcard(_ fd: Int32, ipv6: Bool, port: UInt16) throws(Errno) {
        try bind(fd, to: InetEndpoint(ipv6 ? .anyV6 : .anyV4, port: port))
    }

    /// connect(2) to 127.0.0.1 or ::1. Not retried on EINTR: an interrupted
    /// connect carries on in the kernel, so the caller polls instead.
    static func probeConnectLoopback(_ fd: Int32, ipv6: Bool, port: UInt16) throws(Errno) {
        try connect(fd, to: InetEndpoint(ipv6 ? IPAddress(v6High: 0, low: 1) : IPAddress(v4: 127, 0, 0, 1), port: port))
    }

    /// The pending error of a socket (SO_ERROR), 0 when none.
    package static func probePendingError(_ fd: Int32) throws(Errno) -> Int32 {
        try socketOption(fd, level: SOL_SOCKET, name: SO_ERROR)
    }

    /// net.ipv6.bindv6only: whether new IPv6 sockets start as IPV6_V6ONLY
    /// (assumed when unreadable: a probe then sets the option itself).
    static let ipv6SocketsDefaultToV6Only: Bool =
        (try? HostFiles.readFile("/proc/sys/net/ipv6/bindv6only")).map { $0.first != UInt8(ascii: "0") } ?? true

    /// Whether `pid` names a live task (process or thread): getpgid(2)
    /// fails with ESRCH otherwise. Cheaper than a /proc lookup, and it does
    /// not depend on what a /proc listing shows.
    static func taskExists(_ pid: Int32) -> Bool { getpgid(pid) >= 0 || errno != ESRCH }

    /// Whether this program runs without a dynamic loader (a static build):
    /// AT_BASE, the loader's address, is 0 then. LD_PRELOAD cannot reach
    /// such a program's libc calls.
    static var isStaticallyLinked: Bool { portcullis_loader_base() == 0 }

    package static func onlineProcessors() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Bind probes in batches through io_uring (`portcullis_bind_ring_*`): the
/// same socket + bind + close per port as `BindProber.probe`, one kernel
/// entry per batch. nil from `init` where io_uring cannot do it (before
/// Linux 6.11, io_uring disabled or filtered): the caller probes with
/// system calls instead. One per thread.
final class BindRing {
    static let capacity = 128
    private let ring: OpaquePointer
    private var results = [Int32](repeating: 0, count: BindRing.capacity)
    private var socketFailed = [UInt8](repeating: 0, count: BindRing.capacity)

    init?() {
        guard let ring = portcullis_bind_ring_open(UInt32(Self.capacity)) else { return nil }
        self.ring = ring
    }

    deinit { portcullis_bind_ring_close(ring) }

    /// What a bind probe of each port (at most `capacity`) said: nil when it
    /// bound (free), else the errno of the bind, or of the socket call
    /// (`socketFailed`). Throws when the ring itself failed.
    func probe(ports: [UInt16], ipv6: Bool, udp: Bool) throws(Errno) -> [(errno: Int32, socketFailed: Bool)?] {
        precondition(ports.count <= Self.capacity)
        let rc = ports.withUnsafeBufferPointer { portBuffer in
            results.withUnsafeMutableBufferPointer { resultBuffer in
                socketFailed.withUnsafeMutableBufferPointer { failedBuffer in
                    portcullis_bind_ring_probe(
                        ring, ipv6 ? AF_INET6 : AF_INET,
                        udp ? CConstant.sockDgram : CConstant.sockStream,
                        portBuffer.baseAddress, Int32(ports.count),
                        resultBuffer.baseAddress, failedBuffer.baseAddress)
                }
            }
        }
        if rc < 0 { throw Errno(-rc) }
        return (0..<ports.count).map { i in results[i] == 0 ? nil : (-results[i], socketFailed[i] != 0) }
    }
}
