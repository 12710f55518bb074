#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PortcullisCore
import PortcullisLinux

/// The libc calls the resolver needs beyond SyscallsScan.swift's: waiting
/// on one descriptor (through Sys.poll) and reading a datagram with its
/// sender. Same rules: errno read at once, `Errno` thrown.
extension ScanSys {
    /// What waiting on a descriptor found.
    enum Readiness {
        /// Ready to read (or write), or in error: the next call reports which.
        case ready
        /// The timeout passed: the caller checks its deadline and waits again.
        case notYet
    }

    /// Waits up to `timeoutMilliseconds` for one descriptor to be readable
    /// (or writable).
    static func wait(for fd: Int32, writable: Bool = false, timeoutMilliseconds: Int32) throws(Errno) -> Readiness {
        let events = try Sys.poll(fd, for: writable ? .writable : .readable, timeoutMilliseconds: timeoutMilliseconds)
        return events.isEmpty ? .notYet : .ready
    }

    /// recvfrom(2) on a non-blocking socket: the byte count and the sender,
    /// or nil when nothing is waiting (EAGAIN). ICMP errors queued on a
    /// connected UDP socket come back as thrown errnos (ECONNREFUSED).
    static func receiveDatagram(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> (count: Int, sender: (IPAddress, UInt16)?)? {
        var storage = sockaddr_storage()
        while true {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            if count >= 0 { return (count, endpoint(storage)) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw Errno(code)
        }
    }
}
