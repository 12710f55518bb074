import PortcullisCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Socket types and resource numbers as plain Int32 on every C library:
/// Glibc imports them as Swift enums (`SOCK_STREAM.rawValue`), musl (the
/// Static Linux SDK) as integer macros. Spelled once here.
enum CConstant {
    #if canImport(Glibc)
        static let sockStream = Int32(SOCK_STREAM.rawValue)
        static let sockDgram = Int32(SOCK_DGRAM.rawValue)
        static let sockRaw = Int32(SOCK_RAW.rawValue)
        static let sockCloexec = Int32(SOCK_CLOEXEC.rawValue)
        static let sockNonblock = Int32(SOCK_NONBLOCK.rawValue)
        static let rlimitNofile = Int32(RLIMIT_NOFILE.rawValue)
    #else
        static let sockStream = Int32(SOCK_STREAM)
        static let sockDgram = Int32(SOCK_DGRAM)
        static let sockRaw = Int32(SOCK_RAW)
        static let sockCloexec = Int32(SOCK_CLOEXEC)
        static let sockNonblock = Int32(SOCK_NONBLOCK)
        static let rlimitNofile = Int32(RLIMIT_NOFILE)
    #endif
}

/// An errno value, read immediately after the failing call.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The errno number (ENOENT and so on).
    public let rawValue: Int32
    /// Wraps an errno number, e.g. `Errno(errno)` right after a failed call.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// EPERM: the operation needs a privilege this process lacks (as for another user's /proc/PID/fd).
    public static let notPermitted = Errno(EPERM)
    /// ENOENT: no such file; from sock_diag, no handler for that protocol (a module not loaded).
    public static let noSuchFile = Errno(ENOENT)
    /// ESRCH: the process is gone.
    public static let noSuchProcess = Errno(ESRCH)
    /// EINTR: a signal interrupted the call; the wrappers retry it, a non-blocking connect treats it as pending.
    public static let interrupted = Errno(EINTR)
    /// EACCES: file permissions forbid it, or a bind below ip_unprivileged_port_start.
    public static let permissionDenied = Errno(EACCES)
    /// ENOBUFS: the kernel had no buffer space (a netlink socket's receive queue overflowed).
    public static let noBufferSpace = Errno(ENOBUFS)
    /// EINVAL: a bad argument, also used for a path containing a NUL byte.
    public static let invalidArgument = Errno(EINVAL)
    /// ELOOP: a symbolic link in the last component, refused by O_NOFOLLOW.
    public static let tooManySymlinks = Errno(ELOOP)
    /// ENOTDIR: a path component is not a directory.
    public static let notDirectory = Errno(ENOTDIR)
    /// EPROTONOSUPPORT: the kernel lacks the protocol or address family (IPv6 disabled, for one).
    public static let protocolNotSupported = Errno(EPROTONOSUPPORT)
    /// EROFS: the file system is mounted read-only.
    public static let readOnlyFileSystem = Errno(EROFS)
    /// EEXIST: something is already at the path an exclusive create or mkdir wanted.
    public static let fileExists = Errno(EEXIST)
    /// EINPROGRESS: a non-blocking connect has started; poll for writability to learn how it ended.
    public static let inProgress = Errno(EINPROGRESS)
    /// EALREADY: a connect on this non-blocking socket is still pending.
    public static let alreadyInProgress = Errno(EALREADY)
    /// EISCONN: the socket is connected already (a repeated non-blocking connect that succeeded).
    public static let alreadyConnected = Errno(EISCONN)
    /// ECONNREFUSED: the target answered with a reset (TCP) or ICMP port unreachable (UDP): nothing listens.
    public static let connectionRefused = Errno(ECONNREFUSED)
    /// EADDRINUSE: the address and port are taken; what a bind probe looks for.
    public static let addressInUse = Errno(EADDRINUSE)
    /// EHOSTUNREACH: no route to the host, or an ICMP host unreachable came back.
    public static let hostUnreachable = Errno(EHOSTUNREACH)
    /// ENETUNREACH: no route to the target's network.
    public static let networkUnreachable = Errno(ENETUNREACH)
    /// ETIMEDOUT: the connection attempt timed out in the kernel.
    public static let timedOut = Errno(ETIMEDOUT)
    /// EOPNOTSUPP: the operation is not supported; from SOCK_DESTROY, a kernel built without CONFIG_INET_DIAG_DESTROY.
    public static let operationNotSupported = Errno(EOPNOTSUPP)
    /// ECONNABORTED: the connection was aborted locally, as a socket destroyed through SOCK_DESTROY reports to its holder.
    public static let connectionAborted = Errno(ECONNABORTED)
    /// ECONNRESET: the peer reset the connection (the other end of a destroyed connection sees this).
    public static let connectionReset = Errno(ECONNRESET)

    /// The C library's text for the errno (strerror), or "errno N" when it has none.
    public var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: text)
    }

    /// "Vanished" errors: the process or fd went away between two calls.
    public var meansGone: Bool { self == .noSuchFile || self == .noSuchProcess }
    /// EACCES or EPERM: the call was refused for lack of privilege, as opposed to its object being gone.
    public var meansDenied: Bool { self == .permissionDenied || self == .notPermitted }

    /// EAGAIN/EWOULDBLOCK: a non-blocking socket has nothing to give or no room yet.
    public var meansWouldBlock: Bool { rawValue == EAGAIN || rawValue == EWOULDBLOCK }

    /// Shortages on this host, not answers from a scan target: EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM, EADDRNOTAVAIL (no free ephemeral port), EAGAIN.
    public var isLocalResourceShortage: Bool { [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN].contains(rawValue) }
}

/// Thin wrappers over the libc calls portcullis makes, for every target
/// (Scan and Store call them too). Nothing else in the package calls libc
/// directly. Each reads errno straight after a -1 and retries EINTR. One
/// wrapper per call family: spawn (SyscallsProcess.swift), poll and epoll
/// (SyscallsPoll.swift), sockaddr and the socket calls that take one
/// (SyscallsSocket.swift), the clocks and close (here).
package enum Sys {
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ body: () -> T) throws(Errno) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw Errno(code)
        }
    }

    /// openat(2) that never follows a symlink in the last component.
    static func openAt(_ dirfd: Int32, _ path: String, directory: Bool = false) throws(Errno) -> Int32 {
        var flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW
        if directory { flags |= O_DIRECTORY }
        return try retrying { openat(dirfd, path, flags) }
    }

    /// close(2), the one wrapper. Never retried: Linux releases the
    /// descriptor even when close reports EINTR, and a retry could close
    /// a descriptor another thread has just been given. Errors are ignored
    /// (nothing is left to do about them for the descriptors portcullis closes).
    package static func close(_ fd: Int32) { _ = closeDescriptor(fd) }

    /// open(2) with O_CREAT|O_EXCL: fails with EEXIST rather than overwrite.
    package static func createExclusive(_ path: String, mode: UInt32) throws(Errno) -> Int32 {
        try retrying { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode) }
    }

    /// mkdir(2) of one directory (EEXIST when anything is there already).
    package static func makeDirectory(_ path: String, mode: UInt32) throws(Errno) {
        _ = try retrying { mkdir(path, mode) }
    }

    /// What access(2) checks for.
    package struct AccessCheck: OptionSet, Sendable {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        package static let writable = AccessCheck(rawValue: W_OK)
        package static let readable = AccessCheck(rawValue: R_OK)
        package static let executable = AccessCheck(rawValue: X_OK)
    }

    /// access(2) with the real user's rights: throws why not (EACCES, EROFS for
    /// a read-only file system, ENOENT...).
    package static func checkAccess(_ path: String, _ check: AccessCheck) throws(Errno) {
        _ = try retrying { access(path, check.rawValue) }
    }

    /// stat(2), or lstat(2) when not following a symlink in the last component:
    /// owner, mode (type and permission bits) and whether it is a regular file.
    package static func fileStatus(_ path: String, followSymlinks: Bool = true) throws(Errno) -> (
        uid: UInt32, mode: UInt32, isRegular: Bool
    ) {
        var st = stat()
        _ = try retrying { followSymlinks ? stat(path, &st) : lstat(path, &st) }
        return (st.st_uid, UInt32(st.st_mode), (st.st_mode & S_IFMT) == S_IFREG)
    }

    /// open(2) for reading by absolute path, never following a symlink in
    /// the last component and without blocking: a FIFO planted where a file
    /// was expected cannot stall the caller (check the type with `descriptorStatus`).
    static func openForReading(_ path: String) throws(Errno) -> Int32 {
        try retrying { open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
    }

    /// fstat(2): owner, size and whether it is a regular file.
    static func descriptorStatus(_ fd: Int32) throws(Errno) -> (uid: UInt32, size: Int64, isRegular: Bool) {
        var st = stat()
        _ = try retrying { fstat(fd, &st) }
        return (st.st_uid, Int64(st.st_size), (st.st_mode & S_IFMT) == S_IFREG)
    }

    /// rename(2): atomically replaces `to` with `from`.
    static func rename(_ from: String, _ to: String) throws(Errno) {
        _ = try retrying { renamePath(from, to) }
    }

    static func unlink(_ path: String) { _ = unlinkPath(path) }

    static func processID() -> Int32 { getpid() }

    /// Reads a whole file from an open descriptor (procfs files report size 0,
    /// so read until EOF).
    static func readAll(_ fd: Int32, sizeHint: Int = 4096) throws(Errno) -> [UInt8] {
        try readUntilEnd(sizeHint: sizeHint) { pointer, count in read(fd, pointer, count) }
    }

    /// Reads from an open descriptor until the end or until `limit` bytes
    /// (then stops: the caller sees `limit` bytes and knows there may be more).
    static func readAll(_ fd: Int32, sizeHint: Int, limit: Int) throws(Errno) -> [UInt8] {
        var total = 0
        return try readUntilEnd(sizeHint: min(sizeHint, limit)) { pointer, count in
            let room = min(count, limit - total)
            guard room > 0 else { return 0 }
            let n = read(fd, pointer, room)
            if n > 0 { total += n }
            return n
        }
    }

    /// Calls `readInto(buffer, room)` (a read(2)-like call: count, 0 at the
    /// end, -1 and errno on failure) until the end, growing the buffer.
    static func readUntilEnd(sizeHint: Int, _ readInto: (UnsafeMutableRawPointer?, Int) -> Int) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(sizeHint, 256))
        var used = 0
        while true {
            if used == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
            let offset = used
            let n = try retrying {
                buffer.withUnsafeMutableBytes { raw in readInto(raw.baseAddress.map { $0 + offset }, raw.count - offset) }
            }
            if n == 0 { break }
            used += n
        }
        buffer.removeSubrange(used...)
        return buffer
    }

    /// readlinkat(2) into a caller-provided buffer; returns the length.
    static func readLinkAt(_ dirfd: Int32, _ name: UnsafePointer<CChar>, into buffer: UnsafeMutableBufferPointer<CChar>) throws(Errno)
        -> Int
    {
        guard let base = buffer.baseAddress else { throw Errno(EINVAL) }
        return try retrying { readlinkat(dirfd, name, base, buffer.count) }
    }

    static func readLinkAt(_ dirfd: Int32, _ name: String) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = try retrying {
            buffer.withUnsafeMutableBytes { b in
                guard let base = b.baseAddress else { return -1 }
                return readlinkat(dirfd, name, base.assumingMemoryBound(to: CChar.self), b.count)
            }
        }
        return Array(buffer[0..<n])
    }

    /// fstatat(2) of a path given as raw bytes (paths need not be UTF-8);
    /// `follow` is for /proc magic links such as `exe`.
    static func statAt(_ dirfd: Int32, _ path: [UInt8], follow: Bool) throws(Errno) -> FileIdentity {
        guard !path.contains(0) else { throw Errno(EINVAL) }
        var st = stat()
        let cPath = path.map { CChar(bitPattern: $0) } + [0]
        _ = try retrying { fstatat(dirfd, cPath, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) }
        return FileIdentity(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), links: UInt64(st.st_nlink),
            permissions: UInt32(st.st_mode) & 0o7777)
    }

    /// Where `d_name` starts in a `struct dirent`.
    private static let direntNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)

    /// Names in a directory (without "." and ".."), read from a descriptor the
    /// caller owns; the descriptor is consumed. `body` also gets the
    /// directory's descriptor, for *at() calls relative to it.
    static func listDirectory(consuming fd: Int32, _ body: (Int32, UnsafePointer<CChar>) -> Void) throws(Errno) {
        guard let nameOffset = direntNameOffset, let dir = fdopendir(fd) else {
            let code = direntNameOffset == nil ? EINVAL : errno
            close(fd)
            throw Errno(code)
        }
        defer { closedir(dir) }
        let directoryFD = dirfd(dir)
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 && errno != EINTR { throw Errno(errno) }
                return
            }
            // The name where it lies. `entry.pointee` would copy a whole struct
            // dirent (280 bytes), but readdir's entries are only d_reclen long,
            // packed in its buffer: the copy of the last one read past the
            // buffer's end (AddressSanitizer, on any directory of more than
            // about a thousand entries, such as a busy process's fd table).
            let name = (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self)
            if name[0] == 0x2e && (name[1] == 0 || (name[1] == 0x2e && name[2] == 0)) { continue }
            body(directoryFD, name)
        }
    }

    /// geteuid(2): the user whose rights file checks use (the store compares it with a file's owner).
    package static func userID() -> UInt32 { geteuid() }

    static func realUserID() -> UInt32 { getuid() }

    static let currentDirectory = AT_FDCWD

    // MARK: standard streams and process

    /// write(2) of the whole buffer; gives up quietly when the reader went away (EPIPE).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let start = offset
            guard
                let n = try? retrying({ bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + start }, raw.count - start) } }
                ),
                n > 0
            else { return }
            offset += n
        }
    }

    /// write(2) of the whole buffer, failing on any error (for files we create).
    static func writeFully(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let start = offset
            let n = try retrying { bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + start }, raw.count - start) } }
            if n == 0 { throw Errno(EIO) }
            offset += n
        }
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    // MARK: clocks

    /// The clocks portcullis reads.
    package enum ClockKind: Sendable {
        /// CLOCK_MONOTONIC: for durations and deadlines, which wall-clock changes cannot move.
        case monotonic
        /// CLOCK_REALTIME: the time of day, for timestamps.
        case realtime
    }

    /// clock_gettime(2), the one clock reader: whole seconds and nanoseconds.
    /// It cannot fail for these two clocks, which every Linux has.
    package static func clockTime(_ clock: ClockKind) -> (seconds: Int64, nanoseconds: Int64) {
        var now = timespec()
        clock_gettime(clock == .monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME, &now)
        return (Int64(now.tv_sec), Int64(now.tv_nsec))
    }

    /// CLOCK_MONOTONIC in milliseconds: deadlines that wall-clock changes cannot move.
    package static func monotonicMilliseconds() -> Int64 {
        let now = clockTime(.monotonic)
        return now.seconds * 1000 + now.nanoseconds / 1_000_000
    }

    /// CLOCK_MONOTONIC in microseconds: round-trip times and the scanner's deadlines.
    package static func monotonicMicroseconds() -> Int64 {
        let now = clockTime(.monotonic)
        return now.seconds * 1_000_000 + now.nanoseconds / 1000
    }

    /// CLOCK_REALTIME in whole seconds since the epoch.
    static func realtimeSeconds() -> Int64 { clockTime(.realtime).seconds }

    /// CLOCK_REALTIME in milliseconds since the epoch, for event times.
    static func realtimeMilliseconds() -> Int64 {
        let now = clockTime(.realtime)
        return now.seconds * 1000 + now.nanoseconds / 1_000_000
    }

    /// nanosleep(2), resumed after signals.
    static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    static func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

    static func exit(_ code: Int32) -> Never { exitProcess(code) }
    static func clockTicksPerSecond() -> Int64 { Int64(sysconf(Int32(_SC_CLK_TCK))) }

    static func pageSize() -> Int64 { Int64(sysconf(Int32(_SC_PAGESIZE))) }

    // MARK: netlink

    static func netlinkSocket(protocol proto: Int32) throws(Errno) -> Int32 {
        try retrying { socket(AF_NETLINK, CConstant.sockRaw | CConstant.sockCloexec, proto) }
    }

    /// An unconnected netlink socket sends to the kernel (port id 0).
    static func sendToKernel(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        let sent = try send(fd, bytes)
        if sent != bytes.count { throw Errno(EIO) }
    }
}

// libc functions whose names Sys's own wrappers shadow inside the enum
// (an unqualified `close` there means `Sys.close`): called through these
// file-level names rather than qualified with the Glibc module name, which a
// musl build (the Static Linux SDK) does not have.
private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
private func renamePath(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func unlinkPath(_ path: String) -> Int32 { unlink(path) }
private func exitProcess(_ code: Int32) -> Never { exit(code) }
