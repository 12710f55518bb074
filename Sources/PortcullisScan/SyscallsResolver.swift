#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PortcullisCore
import PortcullisLinux

/// What the resolver needs beyond SyscallsScan.swift: waiting on one
/// descriptor and reading a datagram with its sender, composed of
/// PortcullisLinux's Sys.poll and Sys.receiveDatagram.
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

    /// A datagram from a non-blocking socket: the byte count and the
    /// sender, or nil when nothing is waiting. ICMP errors queued on a
    /// connected UDP socket come back as thrown errnos (ECONNREFUSED).
    static func receiveDatagram(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> (count: Int, sender: InetEndpoint?)? {
        do throws(Errno) {
            return try Sys.receiveDatagram(fd, into: &buffer)
        } catch where error.meansWouldBlock {
            return nil
        }
    }
}
