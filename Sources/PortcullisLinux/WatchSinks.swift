import PortcullisCore

/// SIGINT and SIGTERM for long-running commands: the first one is recorded
/// (and wakes `sleep`), a second one ends the process at once.
public enum StopSignals {
    nonisolated(unsafe) private static var wakeFD: Int32 = -1

    /// Installs the SIGINT and SIGTERM handlers (once; later calls do nothing) and the pipe that wakes `sleep`.
    public static func install() throws(Errno) { wakeFD = try Sys.installStopSignals() }

    /// The signal received (SIGINT 2, SIGTERM 15), or nil.
    public static var received: Int32? {
        let s = Sys.stopSignal()
        return s == 0 ? nil : s
    }

    /// Sleeps up to `milliseconds`; returns early (true) when a stop signal came.
    @discardableResult
    public static func sleep(milliseconds: Int64) -> Bool {
        if received != nil { return true }
        guard milliseconds > 0 else { return false }
        if wakeFD < 0 {
            Sys.sleep(milliseconds: Int(milliseconds))
        } else {
            // The signal handler writes to wakeFD: readable means a stop signal came.
            _ = try? Sys.poll(wakeFD, for: .readable, timeoutMilliseconds: Int32(clamping: milliseconds))
        }
        return received != nil
    }
}

/// `watch --exec PROGRAM [--exec-arg ARG]...`: runs PROGRAM once per event,
/// without a shell, the event's JSON on its stdin (never in its arguments
/// or environment), its stdout and stderr on portcullis's stderr.
public final class EventCommand {
    /// The program run for each event: PROGRAM if it had a slash, else where it was found in PATH.
    public let path: String
    /// Arguments after argv[0] (which is `path`), from `--exec-arg`, in order.
    public let arguments: [String]
    /// At most this many handlers run at once; the next event waits.
    public var maxRunning = 8
    /// How long writing an event to a handler's stdin may take.
    public var writeTimeoutMilliseconds = 5000
    private var running: [Int32] = []
    /// Handlers that could not start, did not read their whole event, or exited non-zero, as messages;
    /// `takeFailures()` empties it.
    public private(set) var failures: [String] = []

    /// Resolves PROGRAM: a path with a slash is used as it is; a bare name
    /// is looked up in `searchPath` (PATH) now, once.
    public init(program: String, arguments: [String], searchPath: String?) throws(CollectionError) {
        if program.contains("/") {
            guard Sys.isExecutableFile(program) else { throw CollectionError("--exec \(program): not an executable file") }
            path = program
        } else {
            let directories = (searchPath ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":")
            guard let found = directories.map({ "\($0)/\(program)" }).first(where: Sys.isExecutableFile) else {
                throw CollectionError("--exec \(program): not found in PATH")
            }
            path = found
        }
        self.arguments = arguments
    }

    /// Starts the handler for one event and hands it `input` on stdin.
    public func run(input: [UInt8]) {
        reap()
        while running.count >= maxRunning, let oldest = running.first {
            report(oldest, Sys.reap(oldest, block: true))
            running.removeFirst()
        }
        let child: (pid: Int32, stdin: Int32)
        do { child = try Sys.spawnWithInputPipe(path, arguments: arguments) } catch {
            failures.append("--exec \(path): cannot start it: \(error)")
            return
        }
        Sys.setNonBlocking(child.stdin)
        if !Sys.writeAll(child.stdin, input, deadlineMilliseconds: writeTimeoutMilliseconds) {
            failures.append("--exec \(path) (pid \(child.pid)) did not read the whole event from its stdin")
        }
        Sys.close(child.stdin)
        running.append(child.pid)
    }

    /// Collects handlers that ended, noting failures.
    public func reap() {
        running.removeAll { pid in
            guard let status = Sys.reap(pid, block: false) else { return false }
            report(pid, status)
            return true
        }
    }

    /// Waits for running handlers, up to `milliseconds`, then leaves the rest running.
    public func finish(milliseconds: Int64) {
        let deadline = Clock.monotonicMilliseconds() + milliseconds
        while !running.isEmpty && Clock.monotonicMilliseconds() < deadline {
            reap()
            if !running.isEmpty { Sys.sleep(milliseconds: 10) }
        }
        reap()
    }

    /// Failures since the last call.
    public func takeFailures() -> [String] {
        defer { failures.removeAll() }
        return failures
    }

    private func report(_ pid: Int32, _ status: Int32?) {
        if let status, status != 0 { failures.append("--exec \(path) (pid \(pid)) exited with status \(status)") }
    }
}

/// Sends events to the local syslog daemon over its datagram socket
/// (/dev/log), in the BSD format the C library's syslog(3) uses:
/// `<PRI>Mmm dd hh:mm:ss portcullis[PID]: MESSAGE`, facility daemon.
public final class SyslogSink {
    /// The syslog daemon's socket, normally /dev/log; reconnected to if the daemon restarts.
    public let path: String
    private var fd: Int32
    /// LOG_DAEMON, the facility of every message: PRI is facility × 8 + severity.
    public static let facilityDaemon: Int32 = 3

    /// Connects to the daemon's datagram socket at `path`; throws if nothing listens there.
    public init(path: String = "/dev/log") throws(CollectionError) {
        self.path = path
        do { fd = try Sys.unixDatagram(connectedTo: path) } catch {
            throw CollectionError("--syslog: cannot connect to \(path): \(error)")
        }
    }

    deinit { Sys.close(fd) }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The datagram for one message (control characters as spaces, at most 8,000 bytes).
    public static func format(severity: Int32, message: String, seconds: Int64, pid: Int32) -> [UInt8] {
        let t = Sys.localTime(seconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = t.day < 10 ? " \(t.day)" : "\(t.day)"
        let header =
            "<\(facilityDaemon * 8 + severity)>\(months[max(0, min(11, t.month - 1))]) \(day) \(two(t.hour)):\(two(t.minute)):\(two(t.second)) portcullis[\(pid)]: "
        // Owner fields are escaped already; a line break would split the record.
        var body = message.utf8.map { $0 < 0x20 || $0 == 0x7f ? 0x20 : $0 }
        while body.last == 0x20 { body.removeLast() }
        if body.count > 8000 { body = Array(body.prefix(8000)) }
        return Array(header.utf8) + body
    }

    /// Sends one message; reconnects once if the daemon was restarted.
    public func send(severity: Int32, message: String, seconds: Int64) throws(CollectionError) {
        let datagram = Self.format(severity: severity, message: message, seconds: seconds, pid: Sys.processID())
        do { _ = try Sys.send(fd, datagram) } catch {
            do {
                let fresh = try Sys.unixDatagram(connectedTo: path)
                Sys.close(fd)
                fd = fresh
                _ = try Sys.send(fd, datagram)
            } catch {
                throw CollectionError("--syslog: sending to \(path) failed: \(error)")
            }
        }
    }
}
