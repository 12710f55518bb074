import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

/// Tells the background loops to stop, and wakes them from their sleeps.
final class StopFlag: Sendable {
    let stopped = Locked(false)

    var isSet: Bool { stopped.withLock { $0 } }

    func set() { stopped.withLock { $0 = true } }

    /// Sleeps up to `milliseconds` in short slices; true when told to stop (or SIGINT/SIGTERM came).
    /// Slices rather than a condition variable: four wake-ups a second cost nothing measurable.
    func sleep(milliseconds: Int64) -> Bool {
        var left = milliseconds
        while left > 0 {
            if isSet { return true }
            let slice = min(left, 250)
            // A stop signal wakes it; from then on StopSignals.sleep returns at once, so it ends here.
            if StopSignals.sleep(milliseconds: slice) { return true }
            left -= slice
        }
        return isSet
    }
}

/// Keeps the hidden check apart from everything else that reads the socket
/// tables. The check binds a probe socket to every port; a watch poll or
/// an audit that ran meanwhile would list those as listeners (a soak saw
/// 435 "opened" UDP listeners on `::` in 35 minutes, none real). So reads
/// (polls, audits) may overlap each other but never a check: a check waits
/// for the reads in progress and holds new ones back until it is done,
/// which delays a poll or a scrape by at most one check.
final class ProbeExclusion: Sendable {
    private struct Counts {
        var reading = 0
        var checking = false
    }
    private let counts = Locked(Counts())

    /// Blocks until no check runs, then counts a read in progress.
    func beginRead() {
        while !counts.withLock({ state in
            guard !state.checking else { return false }
            state.reading += 1
            return true
        }) {
            StopSignals.sleep(milliseconds: 10)
        }
    }

    /// Ends a read begun with `beginRead`.
    func endRead() { counts.withLock { $0.reading -= 1 } }

    /// `body` as a read: never while a check runs.
    func reading<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        beginRead()
        defer { endRead() }
        return try body()
    }

    /// `body` as the check: new reads wait, and it starts once the reads in progress are done.
    func checking<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        counts.withLock { $0.checking = true }
        while counts.withLock({ $0.reading }) > 0 { StopSignals.sleep(milliseconds: 10) }
        defer { counts.withLock { $0.checking = false } }
        return try body()
    }
}

/// The watch thread's side of the exclusion: its polls happen between
/// the session's sleeps, so a read begins when a sleep ends and ends when
/// the next sleep begins.
final class PollReads {
    let exclusion: ProbeExclusion
    private var inRead = false

    init(_ exclusion: ProbeExclusion) { self.exclusion = exclusion }

    /// The session's sleep: the poll before it is over, the one after it may start.
    func sleep(_ milliseconds: Int64, stop: StopFlag) -> Bool {
        if inRead {
            exclusion.endRead()
            inRead = false
        }
        if stop.sleep(milliseconds: milliseconds) { return true }
        exclusion.beginRead()
        inRead = true
        return false
    }

    /// After the session ends (or fails): no read is left open.
    func finish() {
        if inRead {
            exclusion.endRead()
            inRead = false
        }
    }
}

/// A value handed to the one thread that uses it from then on.
final class HandOff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The watch poller: `watch` inside the exporter, feeding first-seen
/// times, the event feed, the listener-count chart and, with `--record`,
/// the history database.
enum WatchLoop {
    /// Polls `session` (started, its first listeners learnt) until told to
    /// stop; a session that fails is replaced by a new one.
    static func run(
        session first: WatchSession, options: WatchSession.Options, reads: PollReads, state: ExporterState, stop: StopFlag,
        log: @escaping @Sendable (Diagnostic) -> Void
    ) {
        // Each distinct diagnostic once: a poll a second must not repeat "cannot read pid 1's fds" forever.
        var said = Set<String>()
        func report(_ diagnostics: [Diagnostic]) {
            for diagnostic in diagnostics where said.insert(diagnostic.message).inserted { log(diagnostic) }
        }
        var current: WatchSession? = first
        while !stop.isSet {
            guard let session = current ?? reads.exclusion.reading({ start(options, state: state, report: report) }) else {
                if stop.sleep(milliseconds: max(options.intervalMilliseconds, 5000)) { return }
                continue
            }
            current = nil
            report(session.takeDiagnostics())
            do {
                while let events = try session.next() {
                    let seconds = Double(session.lastPollMilliseconds) / 1000
                    state.record(events, listenerCount: session.listenerCount, pollSeconds: seconds, now: Clock.realtimeMilliseconds())
                    report(session.takeDiagnostics())
                }
            } catch {
                state.watchFailed(pollSeconds: 0)
                report([Diagnostic(.warning, "the watch poller failed: \(error); restarting it")])
            }
            session.finish()
            reads.finish()
            report(session.takeDiagnostics())
        }
        reads.finish()
    }

    /// A new session with its first poll done and its listeners learnt; nil (said) when it cannot start.
    static func start(_ options: WatchSession.Options, state: ExporterState, report: ([Diagnostic]) -> Void) -> WatchSession? {
        do {
            let session = try WatchSession(options)
            state.learnStartingListeners(session.listeners, now: Clock.realtimeMilliseconds())
            state.record([], listenerCount: session.listenerCount, pollSeconds: 0, now: Clock.realtimeMilliseconds())
            return session
        } catch {
            state.watchFailed(pollSeconds: 0)
            report([Diagnostic(.warning, "the watch poller cannot start: \(error); retrying")])
            return nil
        }
    }
}

/// The hidden-port check on its own schedule: expensive (a bind probe of
/// every port), so never run per request; requests read its last result.
enum HiddenLoop {
    static func run(
        options: HiddenPortCheck.Options, intervalMilliseconds: Int64, exclusion: ProbeExclusion, state: ExporterState,
        stop: StopFlag, log: @escaping @Sendable (Diagnostic) -> Void
    ) {
        var said = Set<String>()
        while !stop.isSet {
            let startedAt = Clock.realtimeMilliseconds()
            state.hiddenStarted(at: startedAt)
            let started = Clock.monotonicMilliseconds()
            let status: ExporterView.HiddenStatus
            do {
                let report = try exclusion.checking { () throws(JobError) in try HiddenJob.run(options) }
                for diagnostic in report.diagnostics where said.insert(diagnostic.message).inserted { log(diagnostic) }
                status = ExporterView.HiddenStatus(
                    finishedAtMilliseconds: Clock.realtimeMilliseconds(), durationMilliseconds: Clock.monotonicMilliseconds() - started,
                    report: report)
                if report.foundSomethingHidden {
                    log(
                        Diagnostic(
                            .warning,
                            "the hidden check found \(report.findings.filter(\.alarm).count) hidden port(s) or process(es); see /api/v1/hidden"
                        ))
                }
            } catch {
                log(Diagnostic(.warning, "the hidden check failed: \(error)"))
                status = ExporterView.HiddenStatus(
                    finishedAtMilliseconds: Clock.realtimeMilliseconds(), durationMilliseconds: Clock.monotonicMilliseconds() - started,
                    report: nil, error: error.description)
            }
            state.hiddenFinished(status, nextAt: Clock.realtimeMilliseconds() + intervalMilliseconds)
            ServerHeap.releaseFreedPages()
            if stop.sleep(milliseconds: intervalMilliseconds) { return }
        }
    }
}
