#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPortcullisSys
import PortcullisCore
import PortcullisLinux

/// Thin wrappers over the libc calls the scanner makes, in the style of
/// PortcullisLinux's Syscalls.swift: errno read immediately, EINTR retried,
/// `Errno` thrown. Nothing else in this target calls libc directly.
enum ScanSys {
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ body: () -> T) throws(Errno) -> T { try Errno.retryingInterrupted(body) }

    /// A non-blocking, close-on-exec TCP or UDP socket for `address`'s family.
    /// A non-blocking TCP or UDP socket for `address`'s family.
    static func socket(for address: IPAddress, udp: Bool) throws(Errno) -> Int32 {
        try Sys.probeSocket(ipv6: address.kind == .v6, udp: udp, nonBlocking: true)
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// SO_LINGER {on, 0}: close sends RST, so a scan leaves no TIME_WAIT behind.
    static func abortOnClose(_ fd: Int32) { try? Sys.probeAbortOnClose(fd) }

    /// Starts a connect. Returns true when it completed at once, false for
    /// EINPROGRESS; throws any other errno (ECONNREFUSED on loopback comes
    /// back immediately). EINTR counts as in progress: the connect carries on.
    static func startConnect(_ fd: Int32, to address: IPAddress, port: UInt16) throws(Errno) -> Bool {
        do throws(Errno) {
            try Sys.connect(fd, to: InetEndpoint(address, port: port))
        } catch where error == .inProgress || error == .interrupted {
            return false
        }
        return true
    }

    enum ConnectProgress: Equatable { case pending, connected, failed(Errno) }

    /// connect(2) again on a socket whose connect is under way: the outcome
    /// so far. An answer such as ECONNREFUSED also returns the socket to the
    /// unconnected state, so it can connect anew.
    static func connectAgain(_ fd: Int32, to address: IPAddress, port: UInt16) -> ConnectProgress {
        do throws(Errno) {
            try Sys.connect(fd, to: InetEndpoint(address, port: port))
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

    // MARK: epoll

    static func epollCreate() throws(Errno) -> Int32 { try retrying { portcullis_epoll_create() } }

    /// Registers `fd` for `events`, with `token` as its user data.
    static func epollAdd(_ epfd: Int32, _ fd: Int32, events: UInt32, token: UInt64) throws(Errno) {
        _ = try retrying { portcullis_epoll_add(epfd, fd, events, token) }
    }

    static func epollModify(_ epfd: Int32, _ fd: Int32, events: UInt32, token: UInt64) throws(Errno) {
        _ = try retrying { portcullis_epoll_modify(epfd, fd, events, token) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever); fills `tokens` and
    /// `events` and returns how many are ready.
    static func epollWait(_ epfd: Int32, tokens: inout [UInt64], events: inout [UInt32], timeoutMilliseconds: Int32) throws(Errno) -> Int {
        let capacity = Int32(min(tokens.count, events.count))
        let n: Int32 = try retrying {
            tokens.withUnsafeMutableBufferPointer { (t: inout UnsafeMutableBufferPointer<UInt64>) -> Int32 in
                events.withUnsafeMutableBufferPointer { (e: inout UnsafeMutableBufferPointer<UInt32>) -> Int32 in
                    portcullis_epoll_wait(epfd, t.baseAddress, e.baseAddress, capacity, timeoutMilliseconds)
                }
            }
        }
        return Int(n)
    }

    static let readable = UInt32(PORTCULLIS_EPOLLIN)
    static let writable = UInt32(PORTCULLIS_EPOLLOUT)
    static let failed = UInt32(PORTCULLIS_EPOLLERR) | UInt32(PORTCULLIS_EPOLLHUP)

    // MARK: threads

    /// Runs `body(i)` for each i in 0..<count, each on a thread of its own,
    /// and returns when all are done. For work that mostly waits (service
    /// conversations): the dispatch pool runs no more at once than there are
    /// CPUs. A thread that cannot be created runs its part on this one.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        final class Job {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        var threads: [pthread_t] = []
        for index in 0..<count {
            let job = Unmanaged.passRetained(Job { body(index) })
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.run()
                return nil
            }, job.toOpaque())
            if rc == 0 {
                threads.append(thread)
            } else {
                job.takeRetainedValue().run()
            }
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    // MARK: limits

    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}

extension Errno {
    /// EAGAIN/EWOULDBLOCK: a non-blocking socket has nothing to give or no room yet.
    var meansWouldBlock: Bool { rawValue == EAGAIN || rawValue == EWOULDBLOCK }

    /// Shortages on this host, not answers from the target: EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM, EADDRNOTAVAIL (no free ephemeral port), EAGAIN.
    var isLocalResourceShortage: Bool { [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN].contains(rawValue) }
}
