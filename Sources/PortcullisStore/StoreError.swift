import PortcullisLinux

/// Why the history database could not be used: what went wrong, the file,
/// and what to do. Nothing already stored is changed when one is thrown.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, which decides the message and the exit status.
    public enum Code: Sendable, Equatable {
        /// `PRAGMA quick_check` failed, SQLite says the file is damaged or not a database, or a stored row holds what no portcullis writes.
        case corrupt
        /// Another process held the write lock past the timeout.
        case locked
        /// Written by a newer portcullis: a schema this binary does not know.
        case newerSchema
        /// The file or its directory cannot be written (permissions, read-only file system).
        case notWritable
        /// The file cannot be read (permissions): for commands that only read.
        case notReadable
        /// No database at the path (for commands that only read).
        case missing
        /// The file system holding the database is full (SQLite's SQLITE_FULL):
        /// the transaction was rolled back, what was stored before is unchanged.
        case diskFull
        /// A SQLite database of some other program.
        case foreign
        /// No snapshot with that id (a usage error: exit 2).
        case unknownSnapshot
        /// No baseline has been set (a usage error: exit 2).
        case noBaseline
        /// No recorded scan with that id (a usage error: exit 2).
        case unknownScan
        /// No journaled close with that id, or none left to undo (a usage error: exit 2).
        case unknownCloseAction
        /// Any other I/O or SQLite failure.
        case failed
    }

    /// What kind of failure; `isUsageError` and the message follow from it.
    public var code: Code
    /// The database file concerned, as given (`--db` or the default path).
    public var path: String
    /// The specifics (SQLite's message, the errno text, the schema version), quoted in the message;
    /// for `.unknownSnapshot`, `.noBaseline`, `.unknownScan` and `.unknownCloseAction` it is the whole message.
    public var detail: String
    /// The system call's error behind it, when one is (the file checks made
    /// before SQLite opens the file); `detail` already says it in words.
    public var underlying: Errno?

    /// What to do, when the usual advice for `code` does not fit (a read-only
    /// file system, a file its own user made read-only); nil for the usual advice.
    public var remedy: String?

    /// An error about the database at `path`; `underlying` is the errno when a file check failed.
    public init(_ code: Code, path: String, _ detail: String, underlying: Errno? = nil, remedy: String? = nil) {
        self.code = code
        self.path = path
        self.detail = detail
        self.underlying = underlying
        self.remedy = remedy
    }

    /// The advice for a file this user may not read or write.
    static let ownerRemedy = "Run as the user who owns it (root for the system database), or give another file with --db"

    /// Errors the user can fix by changing the command line (exit 2, not 3).
    public var isUsageError: Bool {
        code == .unknownSnapshot || code == .noBaseline || code == .unknownScan || code == .unknownCloseAction
    }

    /// " (a permission problem: this user may not VERB it)" when the errno behind it is EACCES or EPERM.
    func permissionNote(_ verb: String) -> String {
        guard let underlying, underlying.meansDenied else { return "" }
        return " (a permission problem: this user may not \(verb) it)"
    }

    /// The message for the user: what happened to `path`, whether it was changed, and what to do.
    public var description: String {
        switch code {
        case .corrupt:
            return "the history database \(path) is damaged (\(detail)); it was not changed. "
                + "Move it aside (mv \(path) \(path).damaged) and portcullis starts a new one on next use; "
                + "`sqlite3 \(path).damaged .recover` may save what it holds"
        case .locked:
            return "the history database \(path) is locked by another writer (\(detail)); nothing was written. "
                + "Wait for the other portcullis (a snapshot or watch --record) to finish and try again"
        case .newerSchema:
            return "the history database \(path) was written by a newer portcullis (\(detail)); it was not changed. "
                + "Use that newer portcullis, or give this one another file with --db"
        case .notWritable:
            return "cannot write the history database \(path): \(detail)\(permissionNote("write")). \(remedy ?? Self.ownerRemedy)"
        case .notReadable:
            return "cannot read the history database \(path): \(detail)\(permissionNote("read")). \(remedy ?? Self.ownerRemedy)"
        case .missing:
            return "no history database at \(path): \(detail)"
        case .diskFull:
            return "the file system holding the history database \(path) is full (\(detail)); nothing was written, "
                + "and what was stored before is unchanged. Free space there (df \(StoreFiles.directory(of: path))), "
                + "or give another file with --db"
        case .foreign:
            return "\(path) is not a portcullis history database (\(detail)); it was not changed. Give another file with --db"
        case .unknownSnapshot, .noBaseline, .unknownScan, .unknownCloseAction:
            return detail
        case .failed:
            return "history database \(path): \(detail)"
        }
    }
}
