#if canImport(Glibc)
import Glibc
#endif

/// Standard streams and the process environment, for the CLI.
public enum Console {
    public static func write(_ bytes: [UInt8], to fd: Int32 = 1) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return  // EPIPE and friends: the reader went away
            }
            offset += n
        }
    }

    public static func write(_ text: String, to fd: Int32 = 1) { write(Array(text.utf8), to: fd) }

    public static func error(_ text: String) { write(text.hasSuffix("\n") ? text : text + "\n", to: 2) }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Colour only on a terminal, never with NO_COLOR set (no-color.org), never for TERM=dumb.
    public static func wantsColor(fd: Int32 = 1) -> Bool {
        isTerminal(fd) && environment("NO_COLOR").map(\.isEmpty) ?? true && environment("TERM") != "dumb"
    }

    public static var effectiveUID: UInt32 { geteuid() }

    /// Ignore SIGPIPE so `portcullis list | head` ends quietly via EPIPE.
    public static func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

    public static func exit(_ code: Int32) -> Never { Glibc.exit(code) }
}
