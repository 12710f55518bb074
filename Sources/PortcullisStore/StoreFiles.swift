#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few file-system calls the store makes before SQLite opens the file.
/// Each reads errno straight after a failure.
enum StoreFiles {
    enum Kind { case missing, regular, other }

    static func kind(_ path: String) -> Kind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        return (st.st_mode & S_IFMT) == S_IFREG ? .regular : .other
    }

    /// Creates an empty file readable and writable by its owner only (0600),
    /// never replacing one that exists (another process may have created it
    /// meanwhile: that is fine).
    static func createPrivate(_ path: String) -> Int32? {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 {
            let code = errno
            return code == EEXIST ? nil : code
        }
        close(fd)
        return nil
    }

    /// mkdir -p with mode 0700 for the directories it creates.
    static func makeDirectories(_ path: String) -> Int32? {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0 && errno != EEXIST { return errno }
        }
        return nil
    }

    /// access(2) W_OK: catches permissions and read-only file systems (EROFS) up front.
    static func writable(_ path: String) -> Int32? {
        access(path, W_OK) == 0 ? nil : errno
    }

    static func message(_ code: Int32) -> String {
        strerror(code).map { String(cString: $0) } ?? "errno \(code)"
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
