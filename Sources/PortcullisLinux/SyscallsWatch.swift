import CPortcullisSys

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// System calls of `watch`: stop signals, child processes for `--exec`, and
/// writes that give up after a deadline.
extension Sys {
    static func installStopSignals() throws(Errno) -> Int32 {
        let fd = portcullis_stop_signals_install()
        if fd < 0 { throw Errno(errno) }
        return fd
    }

    static func stopSignal() -> Int32 { portcullis_stop_signal_received() }

    /// Starts `path` (argv[0] is the path itself) for `watch --exec`: its
    /// stdin the read end of a new pipe, whose write end (close-on-exec) is
    /// returned; its stdout sent to our stderr; our environment; in a
    /// process group of its own; SIGPIPE, SIGINT and SIGTERM back to their
    /// default actions.
    static func spawnWithInputPipe(_ path: String, arguments: [String]) throws(Errno) -> (pid: Int32, stdin: Int32) {
        let input = try pipe()
        // The child has its own copy of the read end once started.
        defer { close(input.read) }
        do {
            let setup = ChildSetup(
                stdin: .descriptor(input.read), stdout: .descriptor(2), inheritsEnvironment: true,
                defaultSignals: [SIGPIPE, SIGINT, SIGTERM], ownProcessGroup: true)
            return (try spawn(path, arguments: [path] + arguments, setup), input.write)
        } catch {
            close(input.write)
            throw error
        }
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Writes all of `bytes` to a non-blocking descriptor, waiting for room
    /// up to `milliseconds` in all; false when it gave up (timeout or error,
    /// e.g. EPIPE when the reader exited).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadlineMilliseconds: Int) -> Bool {
        let deadline = monotonicMilliseconds() + Int64(deadlineMilliseconds)
        var offset = 0
        while offset < bytes.count {
            let start = offset
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + start }, raw.count - start) }
            if n > 0 {
                offset += n
                continue
            }
            let code = errno
            guard n < 0, code == EAGAIN || code == EINTR else { return false }
            let left = deadline - monotonicMilliseconds()
            if left <= 0 { return false }
            // Whatever the wait says, the next write tells.
            _ = try? poll(fd, for: .writable, timeoutMilliseconds: Int32(min(left, 1000)))
        }
        return true
    }

    /// The exit status (or 128+signal) once `pid` ended, nil while it runs,
    /// -1 when it cannot be waited for.
    static func reap(_ pid: Int32, block: Bool) -> Int32? {
        do throws(Errno) {
            switch try wait(pid, noHang: !block) {
            case nil: return nil
            case .exited(let code): return code
            case .signalled(let signal): return 128 + signal
            }
        } catch {
            return -1
        }
    }

    /// Local time (from /etc/localtime or TZ; no NSS involved): month 1-12, day, hour, minute, second.
    static func localTime(_ seconds: Int64) -> (month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        return (Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    static func isExecutableFile(_ path: String) -> Bool {
        guard let status = try? fileStatus(path), status.isRegular else { return false }
        return (try? checkAccess(path, .executable)) != nil
    }
}
