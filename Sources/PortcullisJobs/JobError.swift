import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// Why a job could not produce its report. One type for every job, so a
/// caller (the CLI's `main`, the server) maps failures to an exit code or an
/// HTTP status in one place. Each case keeps the typed error it came from.
/// Things that could not be read but did not stop the job are diagnostics
/// in the report instead.
public enum JobError: Error, Sendable, CustomStringConvertible {
    /// The host's sockets or processes could not be read.
    case collection(CollectionError)
    /// The policy file could not be read or parsed.
    case policy(PolicyFileError)
    /// The history database could not be opened, read or written, or the
    /// snapshot asked for does not exist.
    case store(StoreError)
    /// The hidden-port check could not run at all.
    case hidden(HiddenCheckError)
    /// Input the caller gave is wrong: a target, a port list, a snapshot id.
    case invalidInput(String)
    /// Every scan target was a host name that did not resolve: nothing to
    /// scan, through no fault of the command line's spelling.
    case nothingToScan(String)
    /// No history database path was given and none can be derived
    /// (HOME and XDG_STATE_HOME are unset).
    case noHistoryLocation
    /// `scan --diff-last` without `--record` found no earlier scan of the same targets and ports to compare with.
    case noEarlierScan(String)
    /// A file the job was asked to write could not be written.
    case output(path: String, Errno)
    /// A system facility the job needs failed ("handle SIGINT/SIGTERM").
    case system(String, Errno)
    /// `serve --web.config.file` cannot be read or used.
    case webConfig(WebConfigError)
    /// `serve` could not start or keep serving (the address is in use, say).
    case server(String)
    /// `close` could not read what holds the port, or enter its namespace.
    case close(CloseError)

    /// The caller can fix it by changing what it asked for (the CLI's exit
    /// 2); otherwise the host, the network or the database failed (exit 3).
    public var isUsageError: Bool {
        switch self {
        case .policy, .invalidInput, .webConfig: return true
        case .store(let error): return error.isUsageError
        case .collection(let error): return error.isUsageError
        case .close(let error): return error.isUsageError
        case .hidden, .nothingToScan, .noEarlierScan, .noHistoryLocation, .output, .system, .server: return false
        }
    }

    /// The message for people: what failed, where, and what to do.
    public var description: String {
        switch self {
        case .collection(let error): return error.description
        case .policy(let error): return error.description
        case .store(let error): return error.description
        case .hidden(let error): return error.description
        case .invalidInput(let message), .nothingToScan(let message), .noEarlierScan(let message), .server(let message): return message
        case .webConfig(let error): return error.description
        case .close(let error): return error.description
        case .noHistoryLocation: return "no history database location: HOME and XDG_STATE_HOME are unset; give one with --db PATH"
        case .output(let path, let errno): return "cannot write \(path): \(errno)"
        case .system(let what, let errno): return "cannot \(what): \(errno)"
        }
    }
}

/// Why a policy file could not be used.
public struct PolicyFileError: Error, Sendable, CustomStringConvertible {
    /// What was wrong with the file.
    public enum Reason: Sendable, Equatable {
        case unreadable(Errno)
        case notUTF8
        case invalid(PolicyError)
    }

    /// The policy file as the caller named it.
    public var path: String
    /// Why it could not be used.
    public var reason: Reason

    /// The message for people, naming the file (and for a parse error its line and column).
    public var description: String {
        switch reason {
        case .unreadable(let errno): return "cannot read the policy \(path): \(errno)"
        case .notUTF8: return "\(path): not UTF-8 text"
        case .invalid(let error): return error.description
        }
    }
}
