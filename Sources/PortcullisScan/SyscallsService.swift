#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PortcullisLinux

/// The few libc facts service detection needs beyond SyscallsScan.swift's wrappers.
extension ScanSys {
    /// EAGAIN/EWOULDBLOCK: a non-blocking socket has nothing to give or no room yet.
    static func isWouldBlock(_ error: Errno) -> Bool {
        error.rawValue == EAGAIN || error.rawValue == EWOULDBLOCK
    }

    /// ECONNREFUSED: on a connected UDP socket, an ICMP port unreachable came back.
    static func isRefused(_ error: Errno) -> Bool { error.rawValue == ECONNREFUSED }
}
