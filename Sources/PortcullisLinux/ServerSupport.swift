import Dispatch
import PortcullisCore

/// Threads for blocking work started from async code (the exporter's
/// collections, its watch poller and hidden check), outside Swift's
/// cooperative pool, which must never block on netlink or /proc reads.
public enum BackgroundThread {
    /// Runs `body` on a thread of its own, or on this one when no thread can be created.
    public static func start(_ body: @escaping @Sendable () -> Void) {
        if !Sys.startDetachedThread(body) { body() }
    }

    /// Runs blocking `work` on one of Dispatch's pooled threads and returns
    /// its result. Pooled, not a new thread per call: a long-running server
    /// that started a thread per request would also spread its heap over
    /// ever more malloc arenas.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}

/// The long-running server's heap: kept to what it uses, so a soak of
/// hours shows a flat resident size rather than the allocator's high-water mark.
public enum ServerHeap {
    /// Caps the allocator's arenas: call once, before the server starts its threads.
    public static func limitArenas(_ count: Int32 = 2) { Sys.limitHeapArenas(count) }

    /// Returns freed pages to the kernel; call after a large job (an
    /// audit of every listener, a hidden check) has dropped its results.
    public static func releaseFreedPages() { Sys.releaseFreedHeap() }
}

/// The exporter's own figures for the standard `process_*` metrics, read from /proc/self.
public enum OwnProcess {
    /// Start time, resident memory and CPU time; nil when /proc/self/stat cannot be read.
    public static func figures(procRoot: String = "/proc") -> ProcessFigures? {
        guard let stat = try? HostFiles.readFile(procRoot + "/self/stat"), let parsed = ProcessFiles.parseStat(stat) else { return nil }
        let ticks = Double(max(1, Sys.clockTicksPerSecond()))
        let boot = (try? HostFiles.readFile(procRoot + "/stat")).flatMap(ProcessFiles.bootTime(procStat:)) ?? 0
        return ProcessFigures(
            startTimeSeconds: Double(boot) + Double(parsed.startTicks) / ticks,
            residentBytes: Double(parsed.residentPages) * Double(Sys.pageSize()),
            cpuSeconds: Double(parsed.userTicks + parsed.systemTicks) / ticks)
    }
}
