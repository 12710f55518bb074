import PortcullisCore
import PortcullisJobs
import PortcullisLinux

/// One audit of the host, as `/metrics` and the JSON API serve it.
struct Collection: Sendable {
    /// This audit's number: audits run since the exporter started, this one included.
    var runs = 0
    /// The overview: every listener with its verdict, the findings, the inventory.
    var report: OverviewJob.Report?
    /// Why the audit failed, when it did.
    var error: String?
    /// When it finished, milliseconds since the epoch.
    var finishedAt: Int64
    /// How long it took.
    var seconds: Double
}

/// Runs the audit at request time, fresh every time, and lets requests
/// that arrive while one is running share it: fifty scrapes at once cost
/// one audit, and nothing served is older than the request that asked.
actor AuditCollector {
    let options: OverviewJob.Options
    /// Keeps the audit and the hidden check's probe sockets apart.
    let exclusion: ProbeExclusion
    var running: Task<Collection, Never>?
    /// Audits run since the start (`portcullis_audit_runs_total`): fewer than the scrapes when they overlap.
    private(set) var runs = 0

    init(options: OverviewJob.Options, exclusion: ProbeExclusion = ProbeExclusion()) {
        self.options = options
        self.exclusion = exclusion
    }

    /// The audit in progress if there is one, else a new one.
    func collect() async -> Collection {
        if let running { return await running.value }
        runs += 1
        let number = runs
        let options = self.options
        let exclusion = self.exclusion
        let task = Task {
            var collection = await BackgroundThread.run { exclusion.reading { Self.audit(options) } }
            collection.runs = number
            return collection
        }
        running = task
        let result = await task.value
        running = nil
        return result
    }

    /// The blocking audit, on a thread of its own.
    static func audit(_ options: OverviewJob.Options) -> Collection {
        let started = Clock.monotonicMilliseconds()
        let outcome: Result<OverviewJob.Report, JobError>
        do { outcome = .success(try OverviewJob.run(options)) } catch { outcome = .failure(error) }
        let seconds = Double(Clock.monotonicMilliseconds() - started) / 1000
        // The audit's scratch (netlink dumps, /proc reads) is freed by now; its pages go back.
        ServerHeap.releaseFreedPages()
        switch outcome {
        case .success(let report): return Collection(report: report, finishedAt: Clock.realtimeMilliseconds(), seconds: seconds)
        case .failure(let error):
            return Collection(error: error.description, finishedAt: Clock.realtimeMilliseconds(), seconds: seconds)
        }
    }
}
