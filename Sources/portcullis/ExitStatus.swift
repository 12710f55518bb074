import ArgumentParser
import PortcullisJobs

/// Every exit code portcullis uses, documented in the README; nothing else
/// in the CLI spells a number.
enum ExitStatus: Int32 {
    case ok = 0
    /// Findings at or above the threshold; `who`: nothing holds the port;
    /// `diff`, `scan --diff-last`: a difference.
    case findings = 1
    /// Bad command line, input file or policy; an unknown snapshot or scan; no baseline.
    case usage = 2
    /// Something could not be read or written at run time.
    case runtime = 3
    /// `hidden`: a hidden port or process survived every re-verification round.
    case hiddenFound = 4
    /// `close`: the plan will not be carried out (the session's own port, pid 1, no method that can run here).
    case refused = 5
    /// `close`: it acted, but the port is still open (or a step failed).
    case stillOpen = 6

    /// The status for an error that reached `main`.
    init(for error: JobError) { self = error.isUsageError ? .usage : .runtime }

    /// Ends the command with this status without an error message: the
    /// report already said why (findings, a difference, a hidden port).
    var exit: ExitCode { ExitCode(rawValue) }
}

/// Bad input found while running, in the CLI's own checks (exit 2): the
/// message alone, without a usage summary for the wrong command.
struct UsageFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
