import PortcullisCore

/// Standard streams and the process environment, for the CLI.
public enum Console {
    /// Writes all of `bytes` to descriptor `fd` (1, stdout, by default); stops quietly if the reader went away.
    public static func write(_ bytes: [UInt8], to fd: Int32 = 1) { Sys.writeAll(fd, bytes) }

    /// Writes `text` as UTF-8 to descriptor `fd` (1, stdout, by default).
    public static func write(_ text: String, to fd: Int32 = 1) { write(Array(text.utf8), to: fd) }

    /// A sink that drains to standard output in chunks; call `finish()` when done.
    public static func standardOutput() -> OutputSink { OutputSink { write($0) } }

    /// Renders one document to standard output through a draining sink.
    public static func print(_ render: (inout OutputSink) -> Void) {
        var out = standardOutput()
        render(&out)
        out.finish()
    }

    /// Writes `text` to stderr, adding a newline if it lacks one.
    public static func error(_ text: String) { write(text.hasSuffix("\n") ? text : text + "\n", to: 2) }

    /// Whether descriptor `fd` is a terminal (isatty).
    public static func isTerminal(_ fd: Int32) -> Bool { Sys.isTerminal(fd) }

    /// The value of environment variable `name`, or nil when it is not set.
    public static func environment(_ name: String) -> String? { Sys.environment(name) }

    /// Colour only on a terminal, never with NO_COLOR set (no-color.org), never for TERM=dumb.
    public static func wantsColor(fd: Int32 = 1) -> Bool {
        let noColor = environment("NO_COLOR").map { !$0.isEmpty } ?? false
        return isTerminal(fd) && !noColor && environment("TERM") != "dumb"
    }

    /// The effective user id of this process; 0 means root.
    public static var effectiveUID: UInt32 { Sys.userID() }

    /// Ignore SIGPIPE so `portcullis list | head` ends quietly via EPIPE.
    public static func ignoreBrokenPipe() { Sys.ignoreBrokenPipe() }

    /// Ends the process with status `code` at once (exit(3)).
    public static func exit(_ code: Int32) -> Never { Sys.exit(code) }
}
