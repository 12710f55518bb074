import PortcullisCore
import PortcullisLinux

/// The scanner's compositions of PortcullisLinux's `Sys` wrappers (which
/// read errno at once, retry EINTR and throw `Errno`): non-blocking
/// sockets, connects under way, waits that a deadline bounds. Nothing in
/// this target calls libc directly.
enum ScanSys {
    /// A non-blocking, close-on-exec TCP or UDP socket for `address`'s family.
    static func socket(for address: IPAddress, udp: Bool) throws(Errno) -> Int32 {
        try Sys.probeSocket(ipv6: address.kind == .v6, udp: udp, nonBlocking: true)
    }

    /// SO_LINGER {on, 0}: close sends RST, so a scan leaves no TIME_WAIT behind.
    static func abortOnClose(_ fd: Int32) { try? Sys.probeAbortOnClose(fd) }

    /// Starts a connect. Returns true when it completed at once, false for
    /// EINPROGRESS; throws any other errno (ECONNREFUSED on loopback comes
    /// back immediately). EINTR counts as in progress: the connect carries on.
    /// `scopeID`: the interface index of a link-local IPv6 address (`sin6_scope_id`), 0 for any other.
    static func startConnect(_ fd: Int32, to address: IPAddress, port: UInt16, scopeID: UInt32 = 0) throws(Errno) -> Bool {
        do throws(Errno) {
            try Sys.connect(fd, to: InetEndpoint(address, port: port, scopeID: scopeID))
        } catch  where error == .inProgress || error == .interrupted {
            return false
        }
        return true
    }

    enum ConnectProgress: Equatable {
        case pending, connected
        case failed(Errno)
    }

    /// connect(2) again on a socket whose connect is under way: the outcome
    /// so far. An answer such as ECONNREFUSED also returns the socket to the
    /// unconnected state, so it can connect anew.
    static func connectAgain(_ fd: Int32, to address: IPAddress, port: UInt16, scopeID: UInt32 = 0) -> ConnectProgress {
        do throws(Errno) {
            try Sys.connect(fd, to: InetEndpoint(address, port: port, scopeID: scopeID))
            return .connected
        } catch {
            switch error {
            case .alreadyInProgress, .inProgress, .interrupted: return .pending
            case .alreadyConnected: return .connected
            default: return .failed(error)
            }
        }
    }

    /// The pending error of a socket (SO_ERROR), 0 when none (getsockopt's
    /// own errno if that fails).
    static func pendingError(_ fd: Int32) -> Int32 {
        do { return try Sys.probePendingError(fd) } catch { return error.rawValue }
    }

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
        } catch  where error.meansWouldBlock {
            return nil
        }
    }
}
