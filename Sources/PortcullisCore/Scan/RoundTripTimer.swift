/// Adaptive probe timeouts from measured round-trip times, in the manner of
/// TCP's retransmission timer (RFC 6298): smoothed RTT plus four times its
/// variation, clamped to [minimum, maximum]. Before any sample the initial
/// timeout applies. The maximum is the user's cap (`--max-timeout`): a
/// maximum below the minimum lowers the minimum. Times in microseconds.
public struct RoundTripTimer: Sendable, Equatable {
    /// The shortest timeout `timeout` returns, in microseconds.
    public var minimum: Int64
    /// The longest timeout `timeout` returns (the user's cap, `--max-timeout`), in microseconds.
    public var maximum: Int64
    /// Smoothed round-trip time (RFC 6298's SRTT) in microseconds; nil until the first sample.
    public private(set) var smoothed: Int64?
    /// Round-trip time variation (RFC 6298's RTTVAR) in microseconds; 0 until the first sample.
    public private(set) var variation: Int64 = 0
    /// The timeout before any sample, in microseconds, still clamped to [minimum, maximum].
    public private(set) var initial: Int64
    /// How many round trips have been recorded.
    public private(set) var samples = 0

    /// A timer with these bounds in microseconds (defaults 1 s initial, 100 ms minimum, 2 s
    /// maximum); a minimum above the maximum is lowered to it.
    public init(initial: Int64 = 1_000_000, minimum: Int64 = 100_000, maximum: Int64 = 2_000_000) {
        self.initial = initial
        self.minimum = min(minimum, maximum)
        self.maximum = maximum
    }

    /// Adds one measured round trip.
    public mutating func record(_ rtt: Int64) {
        let sample = max(0, rtt)
        samples += 1
        guard let srtt = smoothed else {
            smoothed = sample
            variation = sample / 2
            return
        }
        variation = (3 * variation + abs(srtt - sample)) / 4
        smoothed = (7 * srtt + sample) / 8
    }

    /// How long to wait for an answer to a probe sent now.
    public var timeout: Int64 {
        guard let srtt = smoothed else { return min(maximum, max(minimum, initial)) }
        return min(maximum, max(minimum, srtt + 4 * variation))
    }
}

/// How many attempts a port with no answer gets, learnt during the scan:
/// three while every answer has come at the first try (a clean network:
/// a silent port is filtered, and more attempts only cost time); all of
/// `maxRetries` + 1 as soon as any answer comes at a later try, which shows
/// packets are being lost (and losses come in bursts), so that a port
/// behind a lossy link is not given up early.
public struct RetryAllowance: Sendable, Equatable {
    /// The most retransmissions a silent port may get once losses are seen (`--max-retries`); never negative.
    public var maxRetries: Int
    /// Highest attempt index (0 = first) that received an answer.
    public private(set) var highestAnsweredAttempt = 0

    /// An allowance for `maxRetries` retransmissions (negative counts as 0).
    public init(maxRetries: Int) { self.maxRetries = max(0, maxRetries) }

    /// Notes that an answer came to attempt `attempt` (0 = first); a later attempt's answer raises the allowance to `maxRetries`.
    public mutating func answered(onAttempt attempt: Int) {
        highestAnsweredAttempt = max(highestAnsweredAttempt, attempt)
    }

    /// Whether a probe whose attempt `attempt` went unanswered is tried again.
    public func retries(afterAttempt attempt: Int) -> Bool {
        let allowed = highestAnsweredAttempt > 0 ? maxRetries : min(maxRetries, 2)
        return attempt < allowed
    }
}

/// A min-heap of (deadline, slot, generation) for the probes in flight.
/// Entries are not removed when a probe answers: a stale entry (its
/// generation no longer matches the slot's) is skipped when it surfaces.
public struct DeadlineHeap: Sendable {
    /// One probe's deadline, and the slot and generation that tell whether it still waits.
    public struct Entry: Sendable, Equatable {
        /// When the probe times out, in monotonic microseconds.
        public var deadline: Int64
        /// The index of the probe's slot in the caller's in-flight table.
        public var slot: Int32
        /// The slot's generation when the probe was sent; a different current generation makes the entry stale.
        public var generation: UInt32
        /// An entry for the probe in `slot`, sent at `generation`, timing out at `deadline`.
        public init(deadline: Int64, slot: Int32, generation: UInt32) {
            self.deadline = deadline
            self.slot = slot
            self.generation = generation
        }
    }

    private var items: [Entry] = []
    /// An empty heap.
    public init() {}

    /// No entry, stale or not, is left.
    public var isEmpty: Bool { items.isEmpty }
    /// How many entries are held, stale ones included.
    public var count: Int { items.count }
    /// The entry with the earliest deadline, without removing it; nil when empty.
    public var first: Entry? { items.first }

    /// Adds an entry (O(log n)).
    public mutating func push(_ entry: Entry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the earliest deadline (O(log n)); nil when empty.
    public mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left].deadline < items[smallest].deadline { smallest = left }
            if right < items.count && items[right].deadline < items[smallest].deadline { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
