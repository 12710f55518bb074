import CPortcullisSys
import PortcullisCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The system calls `close` needs: pidfds and their signals, and the
/// checks that a port is free or filtered. In the style of Syscalls.swift:
/// errno read immediately, EINTR retried, `Errno` thrown.
extension Sys {
    /// SIGTERM and SIGKILL, for the close steps.
    package static let terminateSignal = SIGTERM

    /// pidfd_open(2): a descriptor that names this process and no later
    /// process that reuses its pid. Close it with `Sys.close`.
    package static func openProcess(_ pid: Int32) throws(Errno) -> Int32 {
        try retrying { portcullis_pidfd_open(pid) }
    }

    /// pidfd_send_signal(2).
    package static func signalProcess(pidfd: Int32, _ signal: Int32) throws(Errno) {
        _ = try retrying { portcullis_pidfd_send_signal(pidfd, signal) }
    }

    /// A pidfd turns readable when its process has exited.
    package static func hasExited(pidfd: Int32) -> Bool {
        (try? poll(pidfd, for: .readable, timeoutMilliseconds: 0))?.contains(.readable) ?? false
    }

    /// Waits up to `milliseconds` for any of `pidfds` to exit.
    package static func waitForExit(_ pidfds: [Int32], milliseconds: Int32) {
        _ = try? poll(pidfds, for: .readable, timeoutMilliseconds: milliseconds)
    }

    /// Whether a new socket can bind the wildcard address on `port`
    /// (SO_REUSEADDR, as a restarted server would: TIME_WAIT left by the
    /// closed server does not count). IPv6 is tried only where the kernel
    /// has it. The errno of the first refusal, or nil when both bind.
    package static func bindRefusal(proto: TransportProtocol, port: UInt16) -> Errno? {
        for ipv6 in [false, true] {
            let fd: Int32
            do { fd = try probeSocket(ipv6: ipv6, udp: proto == .udp) } catch {
                if ipv6 { continue }
                return error
            }
            defer { close(fd) }
            do {
                try probeSetOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
                if ipv6 { try probeSetV6Only(fd) }
                try probeBindWildcard(fd, ipv6: ipv6, port: port)
            } catch {
                if ipv6 && (error.rawValue == EADDRNOTAVAIL || error.rawValue == EAFNOSUPPORT) { continue }
                return error
            }
        }
        return nil
    }

    /// What a TCP connect to `endpoint` meets within `milliseconds`.
    package enum ConnectOutcome: Sendable, Equatable {
        /// The handshake completed.
        case open
        /// RST: nothing listens.
        case refused
        /// No answer: dropped.
        case timedOut
        /// Another error (unreachable, permission).
        case failed(Errno)
    }

    /// A non-blocking connect to `endpoint`, waited for up to `milliseconds`; closed with RST.
    package static func connectOutcome(_ endpoint: InetEndpoint, milliseconds: Int32) -> ConnectOutcome {
        let fd: Int32
        do { fd = try probeSocket(ipv6: endpoint.address.kind == .v6, udp: false, nonBlocking: true) } catch { return .failed(error) }
        defer { close(fd) }
        try? probeAbortOnClose(fd)
        do { try connect(fd, to: endpoint) } catch {
            if error == .connectionRefused { return .refused }
            if error != .inProgress { return .failed(error) }
        }
        guard let events = try? poll(fd, for: .writable, timeoutMilliseconds: milliseconds), !events.isEmpty else { return .timedOut }
        switch (try? probePendingError(fd)) ?? EIO {
        case 0: return .open
        case ECONNREFUSED: return .refused
        case let code: return .failed(Errno(code))
        }
    }
}
