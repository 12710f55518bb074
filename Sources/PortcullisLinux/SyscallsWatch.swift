#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPortcullisSys

/// System calls of `watch`: stop signals, child processes for `--exec`, and
/// writes that give up after a deadline.
extension Sys {
    static func installStopSignals() throws(Errno) -> Int32 {
        let fd = portcullis_stop_signals_install()
        if fd < 0 { throw Errno(errno) }
        return fd
    }

    static func stopSignal() -> Int32 { portcullis_stop_signal_received() }

    /// Starts `path` with its stdin a pipe; returns the pid and the pipe's write end.
    static func spawn(_ path: String, arguments: [String]) throws(Errno) -> (pid: Int32, stdin: Int32) {
        var cStrings: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        cStrings.append(nil)
        defer { for p in cStrings { free(p) } }
        var pid: pid_t = 0
        var stdinFD: Int32 = -1
        let rc = cStrings.withUnsafeBufferPointer { argv in
            portcullis_spawn_with_stdin(path, argv.baseAddress, environ, &pid, &stdinFD)
        }
        if rc != 0 { throw Errno(rc) }
        return (pid, stdinFD)
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
            if n > 0 { offset += n; continue }
            let code = errno
            guard n < 0, code == EAGAIN || code == EINTR else { return false }
            let left = deadline - monotonicMilliseconds()
            if left <= 0 { return false }
            // Whatever the wait says, the next write tells.
            _ = try? poll(fd, for: .writable, timeoutMilliseconds: Int32(min(left, 1000)))
        }
        return true
    }

    /// waitpid(2): the exit status (or 128+signal) once `pid` ended, nil while it runs.
    static func reap(_ pid: Int32, block: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            if r == 0 { return nil }
            if r < 0 {
                if errno == EINTR { continue }
                return -1
            }
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : 128 + signal
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
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }
}
