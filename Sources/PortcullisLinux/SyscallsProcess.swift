#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Threads and resource limits, in the style of Syscalls.swift: errno read
/// immediately, EINTR retried, `Errno` thrown.
extension Sys {
    /// Runs `body(i)` for each i in 0..<count, each on a thread of its own,
    /// and returns when all are done. For work that mostly waits (service
    /// conversations): the dispatch pool runs no more at once than there are
    /// CPUs. A thread that cannot be created runs its part on this one.
    package static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        final class Job {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        var threads: [pthread_t] = []
        for index in 0..<count {
            let job = Unmanaged.passRetained(Job { body(index) })
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().run()
                return nil
            }, job.toOpaque())
            if rc == 0 {
                threads.append(thread)
            } else {
                job.takeRetainedValue().run()
            }
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
    package static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
