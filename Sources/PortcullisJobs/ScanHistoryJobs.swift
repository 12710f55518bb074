import PortcullisCore
import PortcullisStore

/// Network scans in the history database: `scan --record`, `scan
/// --diff-last`, `history --scans` and `diff --scans`.
public enum ScanHistoryJob {
    /// What a read-only open of a missing database tells the user to do first.
    public static let firstStep = "record a scan first (portcullis scan --record)"

    /// A scan id as the user typed it; `option` names the argument in the error.
    public static func id(parsing word: String, option: String) throws(JobError) -> Int64 {
        guard let id = Int64(word), id > 0 else {
            throw .invalidInput(
                "invalid scan '\(UntrustedText.escape(word))' for \(option): a scan id is a positive number (portcullis history --scans lists them)"
            )
        }
        return id
    }

    /// The stored form of a finished scan of `plan` (not stored yet).
    public static func record(of report: ScanReport, plan: ScanJob.Plan) -> ScanRecord {
        ScanRecord(report, scope: plan.scope, tcpPorts: plan.tcpPorts, udpPorts: plan.udpPorts)
    }

    /// Stores `record` and returns it with its new id.
    public static func store(_ record: ScanRecord, in store: HistoryStore) throws(JobError) -> ScanRecord {
        var stored = record
        do { stored.info = try store.recordScan(record) } catch { throw .store(error) }
        return stored
    }

    /// The most recent recorded scan of the same targets and ports as `plan`, or nil.
    public static func last(matching plan: ScanJob.Plan, in store: HistoryStore) throws(JobError) -> ScanRecord? {
        do { return try store.lastScan(matching: plan.scope) } catch { throw .store(error) }
    }

    /// The recorded scans, oldest first (the most recent `limit` when given).
    public static func list(in store: HistoryStore, limit: Int? = nil) throws(JobError) -> [ScanInfo] {
        do { return try store.scans(limit: limit) } catch { throw .store(error) }
    }

    /// `diff --scans FROM TO`: what changed from one recorded scan to
    /// another. An unknown id is a usage error; scans of different targets
    /// are compared all the same, and the diff's notes say so.
    public static func diff(in store: HistoryStore, from: Int64, to: Int64) throws(JobError) -> ScanDiff {
        do { return ScanDiff(from: try store.scan(from), to: try store.scan(to)) } catch { throw .store(error) }
    }

    /// The message when `scan --diff-last` finds nothing to compare with.
    public static func noEarlierScan(_ plan: ScanJob.Plan, path: String) -> String {
        "no earlier recorded scan of these targets and ports in \(path) (targets \(plan.scope.targetKey), "
            + "ports \(plan.scope.portKey)): nothing to compare with. Add --record to store this scan for the next "
            + "--diff-last; portcullis history --scans lists what is recorded"
    }
}
