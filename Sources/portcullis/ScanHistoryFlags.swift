import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

/// `scan --record` and `scan --diff-last`: the scan in the history database.
struct ScanHistoryFlags: ParsableArguments {
    @Flag(help: "Store the finished scan in the history database (--db).")
    var record = false
    @Flag(
        help: ArgumentHelp(
            "Compare with the last recorded scan of the same targets and ports and print the difference instead of the scan; exit 1 when anything differs."
        ))
    var diffLast = false
    @OptionGroup var store: StoreFlags

    /// Refuses combinations that cannot work, before anything is scanned.
    func check(_ format: OutputFormat) throws {
        if store.db != nil && !record && !diffLast { throw ValidationError("--db applies to --record and --diff-last") }
        if diffLast && format == .ndjson {
            throw ValidationError("--diff-last prints the difference as text or --format json, not ndjson")
        }
    }

    /// Opens the database and, with --diff-last, finds the scan to compare
    /// with, before scanning; nil when neither flag is given.
    func prepare(_ plan: ScanJob.Plan) throws(JobError) -> ScanRecorder? {
        guard record || diffLast else { return nil }
        let database = try store.open(record ? .readWrite : .readOnly, firstStep: ScanHistoryJob.firstStep)
        var previous: ScanRecord?
        if diffLast {
            previous = try ScanHistoryJob.last(matching: plan, in: database)
            if previous == nil && !record { throw .noEarlierScan(ScanHistoryJob.noEarlierScan(plan, path: database.path)) }
        }
        return ScanRecorder(database: database, record: record, diffLast: diffLast, previous: previous)
    }
}

/// The database side of one scan run.
struct ScanRecorder {
    var database: HistoryStore
    var record: Bool
    var diffLast: Bool
    var previous: ScanRecord?

    /// With --diff-last: records the scan when asked, prints the difference
    /// and returns whether there is one (false when there was nothing to
    /// compare with). nil without --diff-last: the caller prints the scan.
    func compare(_ report: ScanReport, plan: ScanJob.Plan, format: OutputFormat) throws(JobError) -> Bool? {
        guard diffLast else { return nil }
        var current = ScanHistoryJob.record(of: report, plan: plan)
        if record { current = try stored(current) }
        guard let previous else {
            Console.error(
                "portcullis: notice: no earlier recorded scan of these targets and ports in \(database.path): nothing compared; "
                    + "this scan is recorded as scan \(current.info.id ?? 0) for the next --diff-last")
            return false
        }
        let diff = ScanDiff(from: previous, to: current)
        if format == .json {
            for note in diff.notes { Console.error("portcullis: notice: \(note)") }
            Console.print { ScanHistoryRenderer.writeDiffJSON(diff, to: &$0) }
        } else {
            Console.print { ScanHistoryRenderer.writeDiffText(diff, style: terminalStyle, to: &$0) }
        }
        return !diff.isEmpty
    }

    /// Without --diff-last: stores the scan when asked.
    func record(_ report: ScanReport, plan: ScanJob.Plan) throws(JobError) {
        guard record && !diffLast else { return }
        _ = try stored(ScanHistoryJob.record(of: report, plan: plan))
    }

    private func stored(_ record: ScanRecord) throws(JobError) -> ScanRecord {
        let stored = try ScanHistoryJob.store(record, in: database)
        Console.error("portcullis: notice: recorded as scan \(stored.info.id ?? 0) in \(database.path)")
        return stored
    }
}
