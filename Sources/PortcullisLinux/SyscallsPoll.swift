import CPortcullisSys

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What poll(2) waits for and reports about a descriptor.
package struct PollEvents: OptionSet, Hashable, Sendable {
    package let rawValue: Int16
    package init(rawValue: Int16) { self.rawValue = rawValue }

    /// POLLIN: data to read, or the end of the stream.
    package static let readable = PollEvents(rawValue: Int16(POLLIN))
    /// POLLOUT: room to write, or a non-blocking connect finished.
    package static let writable = PollEvents(rawValue: Int16(POLLOUT))
    /// POLLERR (reported whether asked for or not): the next call says which error.
    package static let error = PollEvents(rawValue: Int16(POLLERR))
    /// POLLHUP (reported whether asked for or not): the peer is gone; a read returns 0.
    package static let hangUp = PollEvents(rawValue: Int16(POLLHUP))
}

/// Waiting for descriptors, in the style of Syscalls.swift: errno read
/// immediately, EINTR retried, `Errno` thrown.
extension Sys {
    /// poll(2), the one wrapper: waits up to `timeoutMilliseconds`
    /// (negative: without limit) until any of `fds` has one of `events`, and
    /// returns what each has (empty for every one when the time ran out).
    /// Negative descriptors are skipped, as poll(2) does. EINTR is retried
    /// with what is left of the timeout, so a signal neither cuts the wait
    /// short nor makes it longer than asked.
    package static func poll(_ fds: [Int32], for events: PollEvents, timeoutMilliseconds: Int32) throws(Errno) -> [PollEvents] {
        var entries = fds.map { pollfd(fd: $0, events: events.rawValue, revents: 0) }
        let deadline = timeoutMilliseconds > 0 ? monotonicMilliseconds() + Int64(timeoutMilliseconds) : nil
        var timeout = timeoutMilliseconds
        while true {
            let (ready, code) = entries.withUnsafeMutableBufferPointer { buffer -> (Int32, Int32) in
                let ready = pollDescriptors(buffer.baseAddress, nfds_t(buffer.count), timeout)
                return (ready, ready < 0 ? errno : 0)
            }
            if ready >= 0 { return entries.map { PollEvents(rawValue: $0.revents) } }
            guard code == EINTR else { throw Errno(code) }
            if let deadline { timeout = Int32(clamping: max(0, deadline - monotonicMilliseconds())) }
        }
    }

    /// `poll` of one descriptor.
    package static func poll(_ fd: Int32, for events: PollEvents, timeoutMilliseconds: Int32) throws(Errno) -> PollEvents {
        try poll([fd], for: events, timeoutMilliseconds: timeoutMilliseconds).first ?? []
    }

    // MARK: epoll

    /// epoll(7) event bits, for `epollAdd`, `epollModify` and what `epollWait` reports.
    package static let epollReadable = UInt32(PORTCULLIS_EPOLLIN)
    package static let epollWritable = UInt32(PORTCULLIS_EPOLLOUT)
    /// EPOLLERR and EPOLLHUP, which epoll reports without being asked.
    package static let epollFailed = UInt32(PORTCULLIS_EPOLLERR) | UInt32(PORTCULLIS_EPOLLHUP)

    /// epoll_create1(2), close-on-exec.
    package static func epollCreate() throws(Errno) -> Int32 { try retrying { portcullis_epoll_create() } }

    /// Registers `fd` for `events`, with `token` as its user data.
    package static func epollAdd(_ epfd: Int32, _ fd: Int32, events: UInt32, token: UInt64) throws(Errno) {
        _ = try retrying { portcullis_epoll_add(epfd, fd, events, token) }
    }

    package static func epollModify(_ epfd: Int32, _ fd: Int32, events: UInt32, token: UInt64) throws(Errno) {
        _ = try retrying { portcullis_epoll_modify(epfd, fd, events, token) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever); fills `tokens` and
    /// `events` and returns how many are ready.
    package static func epollWait(_ epfd: Int32, tokens: inout [UInt64], events: inout [UInt32], timeoutMilliseconds: Int32) throws(Errno)
        -> Int
    {
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
}

// poll(2) itself: inside Sys an unqualified `poll` means Sys.poll, and the
// Glibc module name would not build against musl.
private func pollDescriptors(_ fds: UnsafeMutablePointer<pollfd>?, _ count: nfds_t, _ timeout: Int32) -> Int32 { poll(fds, count, timeout) }
