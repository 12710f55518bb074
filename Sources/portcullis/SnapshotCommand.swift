import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save the listeners (sockets, owners, exposure) and the audit's findings in the history database; print the snapshot's id.",
            discussion: "Exit codes: 0 saved, 2 usage error, 3 runtime error (the database or the host could not be read or written).")

        @Option(help: ArgumentHelp("A note stored with the snapshot, e.g. \"before upgrade\".", valueName: "TEXT"))
        var label: String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var auditOptions: AuditOptions
        @OptionGroup var sourceOptions: SourceOptions

        func run() throws {
            let store = try storeOptions.open(.readWrite)
            let info = try take(store: store, label: label, auditOptions: auditOptions, sourceOptions: sourceOptions)
            Console.write("\(info.id)\n")
        }
    }
}

/// Takes a snapshot of the live host and stores it.
func take(store: HistoryStore, label: String?, auditOptions: AuditOptions, sourceOptions: SourceOptions) throws -> SnapshotInfo {
    let (content, inventory, diagnostics) = try liveContent(auditOptions, sourceOptions)
    reportDiagnostics(diagnostics)
    return try store.saveSnapshot(content, time: Clock.now(), label: label, hostname: HostFiles.hostname(procRoot: sourceOptions.procRoot ?? "/proc"),
                                  source: inventory.source, diagnostics: diagnostics)
}
