import PortcullisLinux

/// A one-line progress bar on stderr: percentage, work done, rate and ETA.
/// The clock starts at the first update, so a bar made before its stage
/// begins (service detection waits for the port scan) reports its own rate.
final class ProgressBar: Sendable {
    let unit: String
    /// (when the first update came, when the bar was last drawn)
    private let clock = Locked<(started: Int64?, drawn: Int64)>((nil, 0))

    init(unit: String) { self.unit = unit }

    func update(_ done: Int, of total: Int) {
        let now = Clock.monotonicMilliseconds()
        guard
            let started = clock.withLock({ state -> Int64? in
                let started = state.started ?? now
                state.started = started
                guard now - state.drawn >= 100 || done == total else { return nil }
                state.drawn = now
                return started
            })
        else { return }
        let elapsed = max(1, now - started)
        let rate = Int64(done) * 1000 / elapsed
        let eta = rate > 0 ? Int64(total - done) / rate : 0
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        Console.write("\r\u{1b}[2K[\(bar)] \(done * 100 / max(1, total))% \(done)/\(total) \(unit), \(rate)/s, ETA \(eta) s", to: 2)
    }

    /// Erases the bar's line.
    static func clear() { Console.write("\r\u{1b}[2K", to: 2) }
}
