import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Save the listeners (sockets, owners, exposure) and the audit's findings in the history database; print the snapshot's id.",
            discussion: "Exit codes: 0 saved, 2 usage error, 3 runtime error (the database or the host could not be read or written).")

        @Option(help: ArgumentHelp("A note stored with the snapshot, e.g. \"before upgrade\".", valueName: "TEXT"))
        var label: String?
        @OptionGroup var store: StoreFlags
        @OptionGroup var auditFlags: AuditFlags
        @OptionGroup var source: SourceFlags

        func run() throws {
            let report = try SnapshotJob.take(
                into: store.open(.readWrite), label: label, audit: auditFlags.options(source, history: store.db))
            reportDiagnostics(report.diagnostics)
            Console.write("\(report.snapshot.id)\n")
        }
    }
}
