import PortcullisCore
import Testing

@Suite("Task census: when the kernel's task count proves the /proc listing complete")
struct TaskCensusTests {
    let loadavg = Array("0.52 0.58 0.59 2/143 12345\n".utf8)
    let stat = Array(
        """
        cpu  2255 34 2290 22625563 6290 127 456 0 0 0
        cpu0 1132 34 1441 11311355 3145 118 196 0 0 0
        intr 114930548 113199788 3 0 5 1831
        ctxt 1990473
        btime 1062191376
        processes 178498
        procs_running 2
        procs_blocked 0

        """.utf8)

    @Test("The counters: the task count after the slash of /proc/loadavg, the forks from /proc/stat")
    func counters() {
        #expect(TaskCensus.Counters(loadavg: loadavg, stat: stat) == TaskCensus.Counters(tasks: 143, forks: 178_498))
        #expect(TaskCensus.Counters(loadavg: Array("0.52 0.58 0.59\n".utf8), stat: stat) == nil)
        #expect(TaskCensus.Counters(loadavg: Array("0.52 0.58 0.59 2-143 1\n".utf8), stat: stat) == nil)
        #expect(TaskCensus.Counters(loadavg: loadavg, stat: Array("cpu 1 2 3\nctxt 5\n".utf8)) == nil)
    }

    @Test("Threads: field 20 of /proc/PID/stat, counted after the last parenthesis of the name")
    func threadCount() {
        let plain = Array("1234 (python3) S 1 1234 1234 0 -1 4194560 900 0 0 0 5 3 0 0 20 0 7 0 4242 1 2 3\n".utf8)
        #expect(TaskCensus.threadCount(stat: plain) == 7)
        // A name that holds spaces and parentheses, as any process can choose.
        let hostile = Array("99 (a) S 1 2 3 (x) R 1) S 1 99 99 0 -1 0 0 0 0 0 0 0 0 0 20 0 12 0 77 1\n".utf8)
        #expect(TaskCensus.threadCount(stat: hostile) == 12)
        #expect(TaskCensus.threadCount(stat: Array("5 (short) S 1 2\n".utf8)) == nil)
        #expect(TaskCensus.threadCount(stat: Array("no parenthesis at all".utf8)) == nil)
    }

    @Test("Proven only when the counters held still and the listed threads are every task")
    func proves() {
        let counters = TaskCensus.Counters(tasks: 143, forks: 10)
        #expect(TaskCensus.proves(before: counters, after: counters, listedThreads: 143))
        // One task more than the listed processes hold: something is not listed.
        #expect(!TaskCensus.proves(before: counters, after: counters, listedThreads: 142))
        // A fork, or an exit, during the count: nothing is proven either way.
        #expect(!TaskCensus.proves(before: counters, after: .init(tasks: 144, forks: 11), listedThreads: 143))
        #expect(!TaskCensus.proves(before: counters, after: .init(tasks: 142, forks: 10), listedThreads: 143))
        #expect(!TaskCensus.proves(before: counters, after: .init(tasks: 143, forks: 12), listedThreads: 143))
        // A process whose stat could not be read, or counters that could not be.
        #expect(!TaskCensus.proves(before: counters, after: counters, listedThreads: nil))
        #expect(!TaskCensus.proves(before: nil, after: counters, listedThreads: 143))
    }
}
