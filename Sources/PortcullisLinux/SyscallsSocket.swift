import PortcullisCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An IPv4 or IPv6 socket address: the address, the port, and for IPv6 the
/// scope id (the interface index a link-local address needs; 0 otherwise).
package struct InetEndpoint: Hashable, Sendable {
    package var address: IPAddress
    package var port: UInt16
    package var scopeID: UInt32

    package init(_ address: IPAddress, port: UInt16, scopeID: UInt32 = 0) {
        self.address = address
        self.port = port
        self.scopeID = scopeID
    }
}

/// The socket calls that take or return an address, in the style of
/// Syscalls.swift: errno read immediately, EINTR retried, `Errno` thrown.
/// Every sockaddr in the package is built and read here.
extension Sys {
    /// The one sockaddr builder: calls `body` with `endpoint` as a
    /// sockaddr_in (IPv4) or sockaddr_in6 (IPv6) and its length.
    package static func withSocketAddress<T>(_ endpoint: InetEndpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let bytes = endpoint.address.bytes
        switch endpoint.address.kind {
        case .v4:
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6:
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = endpoint.port.bigEndian
            address.sin6_scope_id = endpoint.scopeID
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    /// The one sockaddr reader: the endpoint in an AF_INET or AF_INET6
    /// address of `length` bytes; nil for another family or too short a length.
    package static func inetEndpoint(_ address: UnsafePointer<sockaddr>, length: socklen_t) -> InetEndpoint? {
        switch Int32(address.pointee.sa_family) {
        case AF_INET where Int(length) >= MemoryLayout<sockaddr_in>.size:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                let bytes = withUnsafeBytes(of: inet.pointee.sin_addr) { Array($0) }
                return IPAddress(bytes: bytes).map { InetEndpoint($0, port: UInt16(bigEndian: inet.pointee.sin_port)) }
            }
        case AF_INET6 where Int(length) >= MemoryLayout<sockaddr_in6>.size:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet in
                let bytes = withUnsafeBytes(of: inet.pointee.sin6_addr) { Array($0) }
                return IPAddress(bytes: bytes).map {
                    InetEndpoint($0, port: UInt16(bigEndian: inet.pointee.sin6_port), scopeID: inet.pointee.sin6_scope_id)
                }
            }
        default:
            return nil
        }
    }

    /// Calls `fill` (getsockname, recvfrom...) with room for any socket
    /// address and its length in and out, then reads what it left there.
    private static func receivingAddress<T>(_ fill: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> T) -> (
        T, InetEndpoint?
    ) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                let result = fill(address, &length)
                return (result, inetEndpoint(address, length: min(length, socklen_t(MemoryLayout<sockaddr_storage>.size))))
            }
        }
    }

    /// connect(2) to `endpoint`. Not retried on EINTR: an interrupted
    /// connect carries on in the kernel, so callers treat EINTR like
    /// EINPROGRESS and wait for the outcome (or ask with a second connect).
    package static func connect(_ fd: Int32, to endpoint: InetEndpoint) throws(Errno) {
        let code = withSocketAddress(endpoint) { address, length in
            connectSocket(fd, address, length) == 0 ? 0 : errno
        }
        if code != 0 { throw Errno(code) }
    }

    /// bind(2) to `endpoint`.
    static func bind(_ fd: Int32, to endpoint: InetEndpoint) throws(Errno) {
        _ = try retrying { withSocketAddress(endpoint) { bindSocket(fd, $0, $1) } }
    }

    /// getsockname(2): the local endpoint of a socket; nil when it is not an inet socket.
    package static func localEndpoint(_ fd: Int32) throws(Errno) -> InetEndpoint? {
        let (result, endpoint) = receivingAddress { address, length in getsockname(fd, address, length) == 0 ? 0 : errno }
        if result != 0 { throw Errno(result) }
        return endpoint
    }

    /// send(2) with MSG_NOSIGNAL (a closed peer is EPIPE, not a SIGPIPE):
    /// the number of bytes sent.
    package static func send(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) -> Int {
        try retrying { bytes.withUnsafeBytes { sendBytes(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    }

    /// recv(2) into `buffer`: the number of bytes received, 0 at the end of a stream.
    package static func receive(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> Int {
        try retrying { buffer.withUnsafeMutableBytes { b in recv(fd, b.baseAddress, b.count, 0) } }
    }

    /// recvfrom(2) into `buffer`: the byte count and the sender (nil when
    /// not an inet address). On a non-blocking socket with nothing waiting
    /// it throws EAGAIN (`meansWouldBlock`).
    package static func receiveDatagram(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> (count: Int, sender: InetEndpoint?) {
        while true {
            let (result, sender) = buffer.withUnsafeMutableBytes { bytes in
                receivingAddress { address, length -> (count: Int, errno: Int32) in
                    let count = recvfrom(fd, bytes.baseAddress, bytes.count, 0, address, length)
                    return (count, count < 0 ? errno : 0)
                }
            }
            if result.count >= 0 { return (result.count, sender) }
            if result.errno == EINTR { continue }
            throw Errno(result.errno)
        }
    }

    /// An AF_UNIX datagram socket connected to `path` (syslog's /dev/log).
    static func unixDatagram(connectedTo path: String) throws(Errno) -> Int32 {
        let fd = try retrying { socket(AF_UNIX, CConstant.sockDgram | CConstant.sockCloexec, 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            close(fd)
            throw Errno(ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        let code = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connectSocket(fd, $0, length) == 0 ? 0 : errno }
        }
        if code != 0 {
            close(fd)
            throw Errno(code)
        }
        return fd
    }
}

// libc functions whose names Sys's wrappers shadow inside the enum, called
// through file-level names (qualified with the Glibc module name they would
// not build against musl).
private func connectSocket(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { connect(fd, address, length) }
private func bindSocket(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { bind(fd, address, length) }
private func sendBytes(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { send(fd, bytes, count, flags) }
