import PortcullisLinux

/// The few file-system calls the store makes before SQLite opens the file,
/// through PortcullisLinux's wrappers: a failure throws the `Errno` read
/// straight after the call.
enum StoreFiles {
    enum Kind: Equatable {
        /// Nothing at the path (ENOENT, also for a missing directory on the way;
        /// ENOTDIR, a file on the way: nothing can be there).
        case missing
        case regular
        /// A directory, a symlink, a FIFO...: not a database file.
        case other
        /// lstat failed otherwise: EACCES for a directory on the way this user
        /// may not enter (a root-only 0700 directory), ELOOP, EIO... The file
        /// may well exist: this is never to be reported as "nothing stored yet".
        case unreachable(Errno)
    }

    /// What `path` names, without following a symlink (lstat). Only ENOENT
    /// and ENOTDIR count as missing (creating it then says why).
    static func kind(_ path: String) -> Kind {
        do throws(Errno) {
            return try Sys.fileStatus(path, followSymlinks: false).isRegular ? .regular : .other
        } catch {
            return error == .noSuchFile || error == .notDirectory ? .missing : .unreachable(error)
        }
    }

    /// The first directory on the way to `path` (from the root down) that
    /// this user may not enter (access(2) X_OK fails with EACCES or EPERM),
    /// or nil when every one may be entered.
    /// Each directory is named as `path` spells it.
    static func firstClosedDirectory(on path: String) -> String? {
        var directories = [path.hasPrefix("/") ? "/" : "."]
        for index in path.indices where path[index] == "/" && index != path.startIndex {
            directories.append(String(path[..<index]))
        }
        for directory in directories {
            do throws(Errno) { try Sys.checkAccess(directory, .executable) } catch {
                if error.meansDenied { return directory }
            }
        }
        return nil
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
