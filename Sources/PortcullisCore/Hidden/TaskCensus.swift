/// Whether the /proc listing holds every task the kernel has, told by the
/// kernel's own count. When it does, no process can be hidden from the
/// listing, and looking up every pid up to pid_max (up to 4,194,304 system
/// calls) would find nothing more.
///
/// The kernel counts every task it has (`nr_threads`: each thread of every
/// process, in every pid namespace; not the idle tasks) in the fourth field
/// of /proc/loadavg, and every task it ever created (`total_forks`) in the
/// `processes` line of /proc/stat; both change under the same lock as the
/// task list itself. The listed processes' own thread counts (field 20 of
/// /proc/PID/stat) add up to the tasks the listing accounts for. Read
/// between two identical readings of both counters, no task was created in
/// between (the fork counter would have moved) and none was reaped (then
/// the task count would have moved with no fork to make up for it): the
/// set of tasks stayed the same, and if the listed processes hold exactly
/// as many tasks as the kernel has, they hold all of them. Anything else
/// (a count that differs, a counter that moved, a stat that could not be
/// read, a pid namespace of our own) proves nothing, and every pid is then
/// looked up.
public enum TaskCensus {
    /// The kernel's two counters, as read at one moment.
    public struct Counters: Sendable, Equatable {
        /// Tasks in existence (/proc/loadavg, field 4 after the slash).
        public var tasks: Int
        /// Tasks ever created (/proc/stat, `processes`).
        public var forks: UInt64

        /// The counters from their two values.
        public init(tasks: Int, forks: UInt64) {
            self.tasks = tasks
            self.forks = forks
        }

        /// The counters from the text of /proc/loadavg and /proc/stat; nil when either lacks its field.
        public init?(loadavg: [UInt8], stat: [UInt8]) {
            // "0.00 0.01 0.05 1/143 12345": the task count follows the slash.
            let fields = loadavg.split(whereSeparator: { $0 == 0x20 || $0 == 0x0a })
            guard fields.count >= 4, let slash = fields[3].firstIndex(of: 0x2f),
                let tasks = Int(String(decoding: fields[3][(slash + 1)...], as: UTF8.self))
            else { return nil }
            var forks: UInt64?
            for line in stat.split(separator: 0x0a) where line.starts(with: Array("processes ".utf8)) {
                forks = UInt64(String(decoding: line.dropFirst(10), as: UTF8.self).trimmingWhitespace)
            }
            guard let forks else { return nil }
            self.init(tasks: tasks, forks: forks)
        }
    }

    /// Field 20 of /proc/PID/stat, the process's number of threads; nil when
    /// the line is malformed. The fields are counted after the last `)`,
    /// since the command name may hold spaces and parentheses.
    public static func threadCount(stat b: [UInt8]) -> Int? {
        guard let close = b.lastIndex(of: 0x29) else { return nil }
        // After comm: state is field 3; num_threads, field 20, is the 18th.
        var field = 0
        var i = close + 1
        while i < b.count {
            while i < b.count && (b[i] == 0x20 || b[i] == 0x0a) { i += 1 }
            let start = i
            while i < b.count && b[i] != 0x20 && b[i] != 0x0a { i += 1 }
            guard i > start else { break }
            field += 1
            if field == 18 { return Int(String(decoding: b[start..<i], as: UTF8.self)) }
        }
        return nil
    }

    /// Whether a listing proves complete: the counters read `before` and
    /// `after` it are the same, and the listed processes' threads
    /// (`listedThreads`, nil when one could not be counted) are exactly the
    /// tasks the kernel has.
    public static func proves(before: Counters?, after: Counters?, listedThreads: Int?) -> Bool {
        guard let before, let after, let listedThreads else { return false }
        return before == after && listedThreads == before.tasks
    }
}
