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
}

// poll(2) itself: inside Sys an unqualified `poll` means Sys.poll, and
// `Glibc.poll` would not build against musl.
private func pollDescriptors(_ fds: UnsafeMutablePointer<pollfd>?, _ count: nfds_t, _ timeout: Int32) -> Int32 { poll(fds, count, timeout) }
