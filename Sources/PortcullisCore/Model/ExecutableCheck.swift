/// Device, inode and link count of a file, as stat(2) reports them.
public struct FileIdentity: Equatable, Sendable {
    /// st_dev: the device the file is on.
    public var device: UInt64
    /// st_ino: the file's inode number on that device.
    public var inode: UInt64
    /// st_nlink: how many names the file has; 0 once every one was unlinked.
    public var links: UInt64
    /// Permission bits (st_mode & 0o7777).
    public var permissions: UInt32

    /// Builds an identity from stat(2) fields; `permissions` defaults to 0o755 (not world-writable).
    public init(device: UInt64, inode: UInt64, links: UInt64, permissions: UInt32 = 0o755) {
        self.device = device
        self.inode = inode
        self.links = links
        self.permissions = permissions
    }

    /// Others may write (and so replace entries, unless the sticky bit limits
    /// that to owners, as on /tmp: still no place for a server's binary).
    public var isWorldWritable: Bool { permissions & 0o002 != 0 }

    /// Same device and inode: the same file, whatever its name or link count.
    public func isSameFile(as other: FileIdentity) -> Bool { device == other.device && inode == other.inode }
}

/// Judges whether a process's executable was deleted or replaced on disk.
///
/// The kernel appends " (deleted)" to /proc/PID/exe when the file's name was
/// unlinked, but a file can really be named "x (deleted)", so the text alone
/// proves nothing. The link count of the running file and a stat of the path
/// (inside the process's own root) decide; only positive evidence counts.
public enum ExecutableCheck {
    /// The verdict on one executable.
    public struct Result: Equatable, Sendable {
        /// The path, escaped for display.
        public var exe: String
        /// The running file was unlinked from its path: its link count is 0, or the kernel marked the link " (deleted)".
        public var deleted: Bool
        /// The path now names a different file than the one running, as after an upgrade without a restart.
        public var replaced: Bool
    }

    static let deletedSuffix = Array(" (deleted)".utf8)

    /// - Parameters:
    ///   - link: the raw bytes of /proc/PID/exe.
    ///   - running: the running file (stat through the link), nil when it
    ///     cannot be known, e.g. in a /proc copied off another machine.
    ///   - onDisk: what a path names now in the process's root, nil if nothing.
    public static func judge(link: [UInt8], running: FileIdentity?, onDisk: ([UInt8]) -> FileIdentity?) -> Result {
        let hasSuffix = link.count > deletedSuffix.count && link.suffix(deletedSuffix.count).elementsEqual(deletedSuffix)
        let stripped = hasSuffix ? Array(link.dropLast(deletedSuffix.count)) : link
        guard let running else {
            return Result(exe: UntrustedText.escape(stripped), deleted: hasSuffix, replaced: false)
        }
        if running.links == 0 {
            return Result(exe: UntrustedText.escape(stripped), deleted: true, replaced: false)
        }
        let now = onDisk(link)
        if let now, now.isSameFile(as: running) {
            return Result(exe: UntrustedText.escape(link), deleted: false, replaced: false)  // a real " (deleted)" name included
        }
        if hasSuffix {
            // Unlinked from that path; other hard links keep the file alive.
            return Result(exe: UntrustedText.escape(stripped), deleted: true, replaced: false)
        }
        return Result(exe: UntrustedText.escape(link), deleted: false, replaced: now != nil)
    }
}
