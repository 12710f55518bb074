import PortcullisCore

/// Read access to a procfs tree: the live /proc, or a copy taken off another
/// machine (`--proc-root`). Every read is relative to a directory descriptor
/// and never follows a symlink in the final component, so a hostile process
/// cannot redirect portcullis outside /proc. Sendable as it is: nothing
/// in it changes after `init` (the descriptor is only read, and closed in
/// `deinit`), and every call opens descriptors of its own.
public final class ProcFS: Sendable {
    /// The path the tree was opened at, as given ("/proc" or a `--proc-root` copy); used in messages.
    public let root: String
    let rootFD: Int32

    /// Opens `root` (e.g. "/proc").
    public init(root: String = "/proc") throws(Errno) {
        self.root = root
        rootFD = try Sys.openAt(Sys.currentDirectory, root, directory: true)
    }

    deinit { Sys.close(rootFD) }

    /// A file relative to the root, e.g. "net/tcp6" or "sys/net/ipv4/ip_local_port_range".
    public func read(_ relativePath: String, sizeHint: Int = 4096) throws(Errno) -> [UInt8] {
        let fd = try Sys.openAt(rootFD, relativePath)
        defer { Sys.close(fd) }
        return try Sys.readAll(fd, sizeHint: sizeHint)
    }

    /// One inet socket table, `net/tcp6` and so on; `prefix` reads another
    /// process's namespace view ("PID/").
    public func socketTable(_ proto: TransportProtocol, _ family: AddressFamily, prefix: String = "") throws(Errno) -> ProcNetParser.Result
    {
        let name = prefix + "net/" + proto.rawValue + (family == .ipv6 ? "6" : "")
        return ProcNetParser.parse(try read(name, sizeHint: 65536), proto: proto, family: family, name: "\(root)/\(name)")
    }

    /// A symbolic link relative to the root, e.g. "PID/exe".
    public func readLink(_ relativePath: String) throws(Errno) -> [UInt8] { try Sys.readLinkAt(rootFD, relativePath) }

    /// A file relative to the root, read with raw system calls that an
    /// LD_PRELOAD library cannot interpose (compare with `read`).
    public func readBypassingLibc(_ relativePath: String, sizeHint: Int = 65536) throws(Errno) -> [UInt8] {
        try Sys.readAllBypassingLibc(rootFD, relativePath, sizeHint: sizeHint)
    }

    /// Whether /proc/PID can be looked up directly, listed or not. For a
    /// thread id it can too: check `Tgid` to tell threads from processes.
    public func exists(pid: Int32) -> Bool { Sys.exists(rootFD, String(pid)) }

    /// The numeric entries of the root directory: the processes it lists.
    public func listedPIDs() throws(Errno) -> [Int32] {
        let fd = try Sys.openAt(rootFD, ".", directory: true)
        var pids: [Int32] = []
        try Sys.listDirectory(consuming: fd) { _, name in
            if let pid = parsePositive(name) { pids.append(pid) }
        }
        return pids
    }

    /// Opens /proc/PID as a directory descriptor.
    public func process(_ pid: Int32) throws(Errno) -> ProcessDirectory {
        ProcessDirectory(pid: pid, fd: try Sys.openAt(rootFD, String(pid), directory: true))
    }

    /// The inode of a namespace of this process (`self/ns/KIND`), if readable.
    public func ownNamespace(_ kind: String) -> UInt64? {
        guard let link = try? Sys.readLinkAt(rootFD, "self/ns/\(kind)") else { return nil }
        return ProcessFiles.namespaceInode(link: link[...], kind: kind)
    }
}

/// An open /proc/PID directory. All reads go through its descriptor, so they
/// are about this process even if the PID is reused meanwhile.
public final class ProcessDirectory {
    /// The process this directory was opened for.
    public let pid: Int32
    let fd: Int32

    init(pid: Int32, fd: Int32) {
        self.pid = pid
        self.fd = fd
    }

    deinit { Sys.close(fd) }

    /// A file of this process, e.g. "status" or "cmdline", read whole through the directory descriptor.
    /// `sizeHint` is the first buffer size in bytes; the buffer grows as needed.
    public func read(_ name: String, sizeHint: Int = 1024) throws(Errno) -> [UInt8] {
        let file = try Sys.openAt(fd, name)
        defer { Sys.close(file) }
        return try Sys.readAll(file, sizeHint: sizeHint)
    }

    /// The target of a symbolic link of this process, e.g. "exe" or "ns/net", as raw bytes (no encoding assumed).
    public func readLink(_ name: String) throws(Errno) -> [UInt8] { try Sys.readLinkAt(fd, name) }

    /// What this process's threads have run so far: each thread's id and its
    /// `task/TID/schedstat` (CPU time in ns, run-queue wait in ns, times
    /// scheduled). No thread can open, receive or close a descriptor without
    /// running, so equal stamps taken at two moments mean the fd table did not
    /// change in between (`SocketTableCache` relies on this). nil when a
    /// thread's schedstat cannot be read (a thread exited meanwhile, or a
    /// kernel without CONFIG_SCHED_INFO): the caller must then look.
    public func activityStamp() -> [UInt8]? {
        guard let taskFD = try? Sys.openAt(fd, "task", directory: true) else { return nil }
        var stamp: [UInt8] = []
        stamp.reserveCapacity(64)
        var complete = true
        do throws(Errno) {
            try Sys.listDirectory(consuming: taskFD) { dirFD, name in
                guard complete, parsePositive(name) != nil else { return }
                let tid = String(cString: name)
                guard let file = try? Sys.openAt(dirFD, tid + "/schedstat"),
                    let line = try? { () throws(Errno) -> [UInt8] in
                        defer { Sys.close(file) }
                        return try Sys.readAll(file, sizeHint: 64)
                    }(), !line.isEmpty
                else {
                    complete = false
                    return
                }
                stamp += tid.utf8
                stamp.append(0x3a)  // ":" before the line, which ends in "\n"
                stamp += line
            }
        } catch { return nil }
        return complete && !stamp.isEmpty ? stamp : nil
    }

    /// Calls `body(fd number, socket inode)` for each socket descriptor the
    /// process holds. Reading the links is the hot path of `list`: one
    /// readlinkat per descriptor into a reused buffer.
    public func forEachSocket(_ body: (Int32, UInt64) -> Void) throws(Errno) {
        let dirFD = try Sys.openAt(fd, "fd", directory: true)
        let link = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 64)
        defer { link.deallocate() }
        var denied: Errno?
        try Sys.listDirectory(consuming: dirFD) { linkFD, name in
            guard denied == nil, let number = parsePositive(name) else { return }
            let length: Int
            do throws(Errno) { length = try Sys.readLinkAt(linkFD, name, into: link) } catch {
                // A descriptor closed meanwhile is simply not there; a refused
                // read means this process's sockets cannot be attributed.
                if error.meansDenied { denied = error }
                return
            }
            let bytes = UnsafeRawBufferPointer(start: link.baseAddress, count: length)
            if let inode = ProcessFiles.socketInode(link: bytes) { body(number, inode) }
        }
        if let denied { throw denied }
    }

    /// Identity of the running executable (follows the `exe` magic link).
    func executableIdentity() throws(Errno) -> FileIdentity { try Sys.statAt(fd, Array("exe".utf8), follow: true) }

    /// Identity of what `path` (raw bytes, any encoding) names now, inside the process's root.
    func identityInRoot(of path: [UInt8]) throws(Errno) -> FileIdentity {
        try Sys.statAt(fd, Array("root".utf8) + path, follow: true)
    }
}

/// Decimal without sign or leading junk, as procfs names PIDs and fds.
func parsePositive(_ name: UnsafePointer<CChar>) -> Int32? {
    var value: Int32 = 0
    var i = 0
    while name[i] != 0 {
        let c = name[i]
        guard c >= 0x30 && c <= 0x39, i < 10 else { return nil }
        value = value &* 10 &+ Int32(c - 0x30)
        i += 1
    }
    return i == 0 || value < 0 ? nil : value
}
