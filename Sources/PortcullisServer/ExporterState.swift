import PortcullisCore
import PortcullisLinux

/// What the exporter remembers between requests, written by its
/// background loops (watch poller, hidden check) and read by requests.
/// One lock; every critical section is a few assignments.
final class ExporterState: Sendable {
    /// A watch event and its sequence number. Kept as the event, rendered
    /// when the API serves it: a thousand rendered JSON trees would hold a
    /// heap box for every value for as long as the exporter runs.
    struct StoredEvent: Sendable {
        var id: Int64
        var event: WatchEvent

        /// The event as `/api/v1/events` serves it: `id` first, then the
        /// fields `watch --format ndjson` prints.
        var json: JSONValue {
            guard case .object(let fields) = HistoryRenderer.json(event) else { return .object([("id", .int(id))]) }
            return .object([("id", .int(id))] + fields)
        }
    }

    /// One point of the listener-count chart.
    struct CountSample: Sendable {
        /// The minute, seconds since the epoch.
        var minute: Int64
        var listeners: Int
    }

    struct Contents: Sendable {
        var firstSeen: [ListenerKey: Int64] = [:]
        var events: [StoredEvent] = []
        var nextEventID: Int64 = 1
        var eventCounts: [WatchEvent.Kind: Int] = [:]
        var counts: [CountSample] = []
        var hidden: ExporterView.HiddenStatus?
        var hiddenStartedAt: Int64?
        var hiddenNextAt: Int64?
        var watch = ExporterView.CollectorStatus(name: "watch", success: false, durationSeconds: 0)
    }

    /// How many events `/api/v1/events` can page back through.
    static let eventCapacity = 1000
    /// A day of one-minute samples.
    static let countCapacity = 24 * 60

    let contents = Locked(Contents())

    /// Records the watch poller's listeners at start: each one's first-seen
    /// time is the start of its oldest owner (a listener cannot predate the
    /// process that opened it, except one inherited from a parent), else now.
    /// An exporter restart so does not make every listener look new.
    func learnStartingListeners(_ views: [ListenerKey: ListenerView], now: Int64) {
        contents.withLock { state in
            for (key, view) in views where state.firstSeen[key] == nil {
                let oldestOwner = view.owners.compactMap(\.startTime).min()
                state.firstSeen[key] = oldestOwner.map { min($0 * 1000, now) } ?? now
            }
        }
    }

    /// Records one poll's events and the listener count after it.
    func record(_ events: [WatchEvent], listenerCount: Int, pollSeconds: Double, now: Int64) {
        contents.withLock { state in
            for event in events {
                let key = event.listener.key
                switch event.kind {
                // A different program on a port counts as new: that is what an administrator is alerted to.
                case .opened, .ownerChanged: state.firstSeen[key] = event.timeMilliseconds
                case .closed: state.firstSeen[key] = nil
                }
                state.eventCounts[event.kind, default: 0] += 1
                state.events.append(StoredEvent(id: state.nextEventID, event: event))
                state.nextEventID += 1
            }
            if state.events.count > Self.eventCapacity { state.events.removeFirst(state.events.count - Self.eventCapacity) }
            let minute = now / 60_000 * 60
            if state.counts.last?.minute == minute {
                state.counts[state.counts.count - 1].listeners = listenerCount
            } else {
                state.counts.append(CountSample(minute: minute, listeners: listenerCount))
                if state.counts.count > Self.countCapacity { state.counts.removeFirst(state.counts.count - Self.countCapacity) }
            }
            state.watch = ExporterView.CollectorStatus(name: "watch", success: true, durationSeconds: pollSeconds)
        }
    }

    /// The watch poller failed; its metric says so until a poll succeeds.
    func watchFailed(pollSeconds: Double) {
        contents.withLock { $0.watch = ExporterView.CollectorStatus(name: "watch", success: false, durationSeconds: pollSeconds) }
    }

    /// First-seen times for keys a scrape found that the poller has not seen yet (opened between polls).
    func firstSeen(for keys: some Sequence<ListenerKey>, now: Int64) -> [ListenerKey: Int64] {
        contents.withLock { state in
            var result: [ListenerKey: Int64] = [:]
            for key in keys {
                if let seen = state.firstSeen[key] {
                    result[key] = seen
                } else {
                    state.firstSeen[key] = now
                    result[key] = now
                }
            }
            return result
        }
    }

    /// Events after `id`, oldest first, and the newest id.
    func events(after id: Int64) -> (events: [StoredEvent], lastID: Int64) {
        contents.withLock { state in
            (state.events.filter { $0.id > id }, state.nextEventID - 1)
        }
    }

    func hiddenStarted(at now: Int64) { contents.withLock { $0.hiddenStartedAt = now } }

    func hiddenFinished(_ status: ExporterView.HiddenStatus, nextAt: Int64) {
        contents.withLock { state in
            state.hidden = status
            state.hiddenNextAt = nextAt
            state.hiddenStartedAt = nil
        }
    }

    /// A copy of everything, for one request.
    var snapshot: Contents { contents.withLock { $0 } }
}
