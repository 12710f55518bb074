import PortcullisCore
import PortcullisJobs
import PortcullisLinux

/// One audit of the host, as `/metrics` and the JSON API serve it.
struct Collection: Sendable {
    /// Audits run since the exporter started, this one included.
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
    var running: Task<Collection, Never>?
    /// Audits run since the start (`portcullis_audit_runs_total`): fewer than the scrapes when they overlap.
    private(set) var runs = 0

    init(options: OverviewJob.Options) { self.options = options }

    /// The audit in progress if there is one, else a new one.
    func collect() async -> Collection {
        if let running {
            var shared = await running.value
            shared.runs = runs
            return shared
        }
        let options = self.options
        let task = Task { await BackgroundThread.run { Self.audit(options) } }
        running = task
        runs += 1
        var result = await task.value
        running = nil
        result.runs = runs
        return result
    }

    /// The blocking audit, on a thread of its own.
    static func audit(_ options: OverviewJob.Options) -> Collection {
        let started = Clock.monotonicMilliseconds()
        let outcome: Result<OverviewJob.Report, JobError>
        do { outcome = .success(try OverviewJob.run(options)) } catch { outcome = .failure(error) }
        let seconds = Double(Clock.monotonicMilliseconds() - started) / 1000
        switch outcome {
        case .success(let report): return Collection(report: report, finishedAt: Clock.realtimeMilliseconds(), seconds: seconds)
        case .failure(let error):
            return Collection(error: error.description, finishedAt: Clock.realtimeMilliseconds(), seconds: seconds)
        }
    }
}
