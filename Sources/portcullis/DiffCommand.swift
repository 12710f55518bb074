import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "What changed between two snapshots, or a snapshot and the live host: listeners added and removed, owner and exposure changes, findings new and resolved.",
            discussion: """
                FROM defaults to the baseline and TO to the live host; each is a snapshot id, \
                `baseline` or (TO only) `live`. With --scans, FROM and TO are the ids of two \
                recorded scans (portcullis history --scans lists them): hosts that appeared \
                or vanished, ports opened or closed, services changed.

                Exit codes: 0 no difference, 1 a difference, 2 usage error, unknown snapshot or scan, or no baseline, \
                3 runtime error.
                """)

        @Argument(help: ArgumentHelp("Snapshot id or `baseline` (default: the baseline).", valueName: "FROM"))
        var from: String?
        @Argument(help: ArgumentHelp("Snapshot id, `baseline` or `live` (default: the live host).", valueName: "TO"))
        var to: String?
        @Flag(help: "Compare two recorded scans (scan --record): FROM and TO are scan ids.")
        var scans = false
        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text
        @OptionGroup var store: StoreFlags
        @OptionGroup var auditFlags: AuditFlags
        @OptionGroup var source: SourceFlags

        func validate() throws {
            if scans && (from == nil || to == nil) {
                throw ValidationError(
                    "diff --scans needs two scan ids: portcullis diff --scans FROM TO (portcullis history --scans lists them)")
            }
            if from == "live" && !scans {
                throw ValidationError("FROM must be a snapshot or `baseline`; the live host can only be TO")
            }
            try format.require([.text, .json], command: "diff")
        }

        func run() throws {
            if scans { return try runScans() }
            let fromRef = try from.map { word throws(JobError) in try SnapshotRef(parsing: word, option: "FROM") } ?? .baseline
            let target: DiffJob.Target =
                try to.map { word throws(JobError) in
                    word == "live" ? .live : .snapshot(try SnapshotRef(parsing: word, option: "TO"))
                } ?? .live
            let report = try DiffJob.run(in: store.open(.readOnly), from: fromRef, to: target, audit: auditFlags.options(source))
            reportDiagnostics(report.diagnostics)
            if format == .json {
                Console.print { HistoryRenderer.writeDiffJSON(report.diff, from: report.from, to: report.to, to: &$0) }
            } else {
                Console.print {
                    HistoryRenderer.writeDiffText(report.diff, from: report.from, to: report.to, style: terminalStyle, to: &$0)
                }
            }
            if !report.diff.isEmpty { throw ExitStatus.findings.exit }
        }

        /// `diff --scans FROM TO`.
        func runScans() throws {
            let first = try ScanHistoryJob.id(parsing: from ?? "", option: "FROM")
            let second = try ScanHistoryJob.id(parsing: to ?? "", option: "TO")
            let diff = try ScanHistoryJob.diff(
                in: store.open(.readOnly, firstStep: ScanHistoryJob.firstStep), from: first, to: second)
            if format == .json {
                for note in diff.notes { Console.error("portcullis: notice: \(note)") }
                Console.print { ScanHistoryRenderer.writeDiffJSON(diff, to: &$0) }
            } else {
                Console.print { ScanHistoryRenderer.writeDiffText(diff, style: terminalStyle, to: &$0) }
            }
            if !diff.isEmpty { throw ExitStatus.findings.exit }
        }
    }
}
