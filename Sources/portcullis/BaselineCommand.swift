import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct BaselineCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "baseline", abstract: "Set or show the baseline: the snapshot `diff` and `audit --baseline` compare with.",
            subcommands: [Set.self, Show.self])

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a snapshot the baseline (default: take one now). Earlier baselines stay recorded.",
                discussion: "Exit codes: 0 set, 2 usage error or unknown snapshot, 3 runtime error.")

            @Argument(
                help: ArgumentHelp("A snapshot id (portcullis history lists them); default: take a snapshot now.", valueName: "SNAPSHOT"))
            var snapshot: String?
            @Option(help: ArgumentHelp("Label of the snapshot taken now.", valueName: "TEXT"))
            var label: String?
            @OptionGroup var store: StoreFlags
            @OptionGroup var auditFlags: AuditFlags
            @OptionGroup var source: SourceFlags

            func validate() throws {
                if snapshot != nil && label != nil {
                    throw ValidationError("--label names a snapshot taken now; it cannot be combined with SNAPSHOT")
                }
            }

            func run() throws {
                let id = try snapshot.map { word throws(JobError) in try SnapshotRef.id(parsing: word, option: "SNAPSHOT") }
                let report = try BaselineJob.set(in: store.open(.readWrite), snapshot: id, label: label, audit: auditFlags.options(source))
                reportDiagnostics(report.diagnostics)
                Console.write(HistoryRenderer.baselineSetLine(report.baseline))
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show the baseline snapshot: its listeners and findings.",
                discussion: "Exit codes: 0 shown, 2 no baseline set, 3 runtime error.")

            @Option(help: "Output format: table or json.")
            var format: OutputFormat = .table
            @OptionGroup var store: StoreFlags

            func validate() throws {
                try format.require([.table, .json], command: "baseline show")
            }

            func run() throws {
                let (baseline, content) = try BaselineJob.show(in: store.open(.readOnly))
                if format == .json {
                    Console.print { HistoryRenderer.writeBaselineJSON(baseline, content: content, to: &$0) }
                } else {
                    Console.print { HistoryRenderer.writeBaselineText(baseline, content: content, style: terminalStyle, to: &$0) }
                }
            }
        }
    }
}
