import CPortcullisSys
import PortcullisCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Wrappers for looking at another process's socket through a duplicate of
/// its descriptor, and for reads that bypass libc, in the style of
/// Syscalls.swift: errno read immediately, EINTR retried, `Errno` thrown.
extension Sys {
    /// pidfd_open(2) then pidfd_getfd(2): our own descriptor for `fd` of `pid`.
    /// Closing it leaves the owner's descriptor untouched.
    static func duplicateDescriptor(pid: Int32, fd: Int32) throws(Errno) -> Int32 {
        let pidfd = try retrying { portcullis_pidfd_open(pid) }
        defer { close(pidfd) }
        return try retrying { portcullis_pidfd_getfd(pidfd, fd) }
    }

    /// The inode of an open descriptor (fstat).
    static func inode(of fd: Int32) throws(Errno) -> UInt64 {
        var st = stat()
        _ = try retrying { fstat(fd, &st) }
        return UInt64(st.st_ino)
    }

    static func socketOption(_ fd: Int32, level: Int32, name: Int32) throws(Errno) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try retrying { getsockopt(fd, level, name, &value, &length) }
        return value
    }

    /// The local port of an inet socket (getsockname), 0 for other families.
    static func localPort(_ fd: Int32) throws(Errno) -> UInt16 { try localEndpoint(fd)?.port ?? 0 }

    /// tcpi_state of TCP_INFO (its first byte).
    static func tcpState(_ fd: Int32) throws(Errno) -> UInt8 {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        _ = try retrying { getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) }
        return info[0]
    }

    /// Reads a whole file with raw system calls (openat, read, close), so a
    /// library interposing libc's functions (LD_PRELOAD) sees nothing of it.
    static func readAllBypassingLibc(_ dirfd: Int32, _ path: String, sizeHint: Int = 65536) throws(Errno) -> [UInt8] {
        let fd = try retrying { portcullis_raw_openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        defer { _ = portcullis_raw_close(fd) }
        return try readUntilEnd(sizeHint: sizeHint) { pointer, count in portcullis_raw_read(fd, pointer, count) }
    }

    /// Whether `name` exists in the directory (fstatat, no symlink follow).
    static func exists(_ dirfd: Int32, _ name: String) -> Bool {
        var st = stat()
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
    }
}

/// A socket of another process, examined through a duplicate of one of its
/// descriptors.
public enum SocketInspector {
    /// Asks the socket itself for its domain, protocol, port and TCP state,
    /// trying each (pid, fd) holding `inode` until one works. Checks that the
    /// duplicate is still that inode (the fd number may have been reused).
    public static func identify(inode: UInt64, holders: [(pid: Int32, fd: Int32)]) -> Result<SocketIdentity, Errno> {
        var lastError = Errno.noSuchFile
        for holder in holders {
            do throws(Errno) {
                let fd = try Sys.duplicateDescriptor(pid: holder.pid, fd: holder.fd)
                defer { Sys.close(fd) }
                guard try Sys.inode(of: fd) == inode else {
                    lastError = .noSuchFile
                    continue
                }
                let domain = try Sys.socketOption(fd, level: SOL_SOCKET, name: SO_DOMAIN)
                let proto = try Sys.socketOption(fd, level: SOL_SOCKET, name: SO_PROTOCOL)
                let port = try Sys.localPort(fd)
                var state: SocketState?
                if (domain == AF_INET || domain == AF_INET6) && proto == Int32(IPPROTO_TCP) {
                    state = SocketState(rawValue: try Sys.tcpState(fd))
                }
                return .success(SocketIdentity(domain: domain, protocolNumber: proto, localPort: port, tcpState: state, pid: holder.pid))
            } catch {
                lastError = error
            }
        }
        return .failure(lastError)
    }
}
