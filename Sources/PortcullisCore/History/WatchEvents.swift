/// A change `watch` saw between two polls of the kernel's listeners.
public struct WatchEvent: Sendable {
    /// What changed on one listener key; the raw values are the JSON and stored spellings.
    public enum Kind: String, Sendable, CaseIterable {
        /// A listener on a key that had none.
        case opened
        /// The last listener on a key went away.
        case closed
        /// Same key, a different executable or user holds it.
        case ownerChanged = "owner_changed"
    }

    /// What changed.
    public var kind: Kind
    /// Milliseconds since the Unix epoch.
    public var timeMilliseconds: Int64
    /// The listener now (for `closed`: as it was last seen).
    public var listener: ListenerView
    /// For `owner_changed`: the holders before.
    public var previousOwners: [SocketOwner]?

    /// Builds an event; `previousOwners` only for `.ownerChanged`.
    public init(kind: Kind, timeMilliseconds: Int64, listener: ListenerView, previousOwners: [SocketOwner]? = nil) {
        self.kind = kind
        self.timeMilliseconds = timeMilliseconds
        self.listener = listener
        self.previousOwners = previousOwners
    }

    /// syslog severity: owner changes are warnings, new listeners notices.
    public var syslogSeverity: Int32 {
        switch kind {
        case .ownerChanged: return 4
        case .opened: return 5
        case .closed: return 6
        }
    }
}

/// Computes watch events from two views of the listeners. Pure.
public enum WatchEvents {
    /// The events for one key, given what listened on it at the previous
    /// poll and what listens now.
    public static func events(before: ListenerView?, after: ListenerView?, time: Int64) -> [WatchEvent] {
        switch (before, after) {
        case (nil, let now?): return [WatchEvent(kind: .opened, timeMilliseconds: time, listener: now)]
        case (let then?, nil): return [WatchEvent(kind: .closed, timeMilliseconds: time, listener: then)]
        case (let then?, let now?):
            guard now.ownerDiffers(from: then) else { return [] }
            return [WatchEvent(kind: .ownerChanged, timeMilliseconds: time, listener: now, previousOwners: then.owners)]
        case (nil, nil): return []
        }
    }

    /// Every event between two whole views, in key order.
    public static func events(previous: [ListenerKey: ListenerView], current: [ListenerKey: ListenerView], time: Int64) -> [WatchEvent] {
        let keys = Set(previous.keys).union(current.keys).sorted()
        return keys.flatMap { events(before: previous[$0], after: current[$0], time: time) }
    }
}
