import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// `portcullis watch`: the listeners polled on a schedule, an event for
/// each one opened or closed and each change of owner. Each call to `next`
/// waits for the next poll and returns its events, after handing them to
/// the sinks (database, program, syslog). The caller renders them.
public final class WatchSession {
    /// How often to poll, what to watch and where events go besides the caller.
    public struct Options {
        /// Milliseconds between polls.
        public var intervalMilliseconds: Int64 = 1000
        /// Which protocols and families are watched, and where /proc and /etc are.
        public var watcher = ListenerWatcher.Options()
        /// Stores the events (`watch --record`).
        public var store: HistoryStore?
        /// Runs a program per event with its JSON on stdin (`--exec`).
        public var command: EventCommand?
        /// Sends each event to syslog (`--syslog`).
        public var syslog: SyslogSink?
        /// Sleeps up to the given milliseconds; returns true when the
        /// session should stop. The CLI wakes on SIGINT and SIGTERM.
        public var sleep: (Int64) -> Bool = { StopSignals.sleep(milliseconds: $0) }

        /// Options for one-second polls of every listener, with no sinks.
        public init() {}
    }

    let options: Options
    let watcher: ListenerWatcher
    var nextPoll: Int64
    var diagnostics: [Diagnostic] = []
    /// A failure to record the last batch, thrown on the next call so the
    /// batch itself still reaches the caller.
    var pendingFailure: JobError?

    /// Learns every listener and its owners (the first poll, no events).
    public init(_ options: Options) throws(JobError) {
        self.options = options
        do {
            watcher = try ListenerWatcher(options: options.watcher)
            try watcher.start()
        } catch {
            throw .collection(error)
        }
        diagnostics = watcher.takeDiagnostics()
        nextPoll = Clock.monotonicMilliseconds() + options.intervalMilliseconds
    }

    /// Listeners known now (one per protocol, family, address and port).
    public var listenerCount: Int { watcher.listenerCount }
    /// Listening sockets known now (SO_REUSEPORT groups count each socket).
    public var socketCount: Int { watcher.socketCount }
    /// How long the last poll took (reading the kernel and resolving owners, not the wait before it).
    public private(set) var lastPollMilliseconds: Int64 = 0
    /// Every listener known now, with its sockets and owners.
    public var listeners: [ListenerKey: ListenerView] { watcher.listeners }

    /// What could not be read, and handlers or syslog sends that failed, since the last call.
    public func takeDiagnostics() -> [Diagnostic] {
        defer { diagnostics.removeAll() }
        return diagnostics
    }

    /// Waits for the next poll and returns its events (often none); nil
    /// when `Options.sleep` says stop. A slow poll skips the polls it
    /// overran instead of catching up in a burst.
    public func next() throws(JobError) -> [WatchEvent]? {
        if let failure = pendingFailure { throw failure }
        if options.sleep(nextPoll - Clock.monotonicMilliseconds()) { return nil }
        let step = options.intervalMilliseconds
        nextPoll += step
        let now = Clock.monotonicMilliseconds()
        if nextPoll < now { nextPoll = now + step }
        let events: [WatchEvent]
        let started = Clock.monotonicMilliseconds()
        defer { lastPollMilliseconds = Clock.monotonicMilliseconds() - started }
        do { events = try watcher.poll(time: Clock.realtimeMilliseconds()) } catch { throw .collection(error) }
        diagnostics += watcher.takeDiagnostics()
        dispatch(events)
        return events
    }

    func dispatch(_ events: [WatchEvent]) {
        for event in events {
            options.command?.run(input: Array(HistoryRenderer.json(event).serialized().utf8) + [0x0a])
            if let sink = options.syslog {
                do {
                    try sink.send(
                        severity: event.syslogSeverity, message: String(HistoryRenderer.text(event).dropLast()),
                        seconds: event.timeMilliseconds / 1000)
                } catch {
                    diagnostics.append(Diagnostic(.warning, error.description))
                }
            }
        }
        if let store = options.store, !events.isEmpty {
            do { try store.record(events) } catch { pendingFailure = .store(error) }
        }
        options.command?.reap()
        takeCommandFailures()
    }

    /// Waits (up to 5 s) for event handlers still running.
    public func finish() {
        options.command?.finish(milliseconds: 5000)
        takeCommandFailures()
    }

    func takeCommandFailures() {
        diagnostics += (options.command?.takeFailures() ?? []).map { Diagnostic(.warning, $0) }
    }
}
