import PortcullisLinux

/// The few file-system calls the store makes before SQLite opens the file,
/// through PortcullisLinux's wrappers: a failure throws the `Errno` read
/// straight after the call.
enum StoreFiles {
    enum Kind { case missing, regular, other }

    /// What `path` names, without following a symlink (lstat). Anything
    /// that cannot be looked at counts as missing: creating it then says why.
    static func kind(_ path: String) -> Kind {
        guard let status = try? Sys.fileStatus(path, followSymlinks: false) else { return .missing }
        return status.isRegular ? .regular : .other
    }

    /// Creates an empty file readable and writable by its owner only (0600),
    /// never replacing one that exists (another process may have created it
    /// meanwhile: that is fine).
    static func createPrivate(_ path: String) throws(Errno) {
        let fd: Int32
        do throws(Errno) {
            fd = try Sys.createExclusive(path, mode: 0o600)
        } catch  where error == .fileExists {
            return
        }
        Sys.close(fd)
    }

    /// mkdir -p with mode 0700 for the directories it creates.
    static func makeDirectories(_ path: String) throws(Errno) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            do throws(Errno) {
                try Sys.makeDirectory(current, mode: 0o700)
            } catch  where error == .fileExists {
                continue
            }
        }
    }

    /// access(2) W_OK: catches permissions and read-only file systems (EROFS) up front.
    static func checkWritable(_ path: String) throws(Errno) {
        try Sys.checkAccess(path, .writable)
    }

    /// access(2) R_OK: a file of another user (mode 0600) says EACCES here, before SQLite's vaguer "unable to open".
    static func checkReadable(_ path: String) throws(Errno) {
        try Sys.checkAccess(path, .readable)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
