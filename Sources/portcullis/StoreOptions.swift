import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// `--db PATH`, shared by every command that reads or writes history.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "History database (default: /var/lib/portcullis/portcullis.db as root, else $XDG_STATE_HOME/portcullis/portcullis.db or ~/.local/state/portcullis/portcullis.db).",
        valueName: "PATH"))
    var db: String?

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db needs a file path") }
    }

    /// Opens the database; store errors become exit 3 (or 2 for bad input).
    func open(_ mode: HistoryStore.Mode) throws -> HistoryStore {
        var options = HistoryStore.Options()
        options.mode = mode
        let path: String
        if let db {
            path = db
        } else {
            guard let fallback = HistoryStore.defaultPath(effectiveUID: Console.effectiveUID, environment: Console.environment) else {
                throw RuntimeFailure("no history database location: HOME and XDG_STATE_HOME are unset; give one with --db PATH")
            }
            path = fallback
            options.createDirectories = true
        }
        return try HistoryStore(path: path, options: options)
    }
}

/// Collects the live host as a snapshot would store it: the listening
/// sockets with owners and exposure, and the audit's findings.
func liveContent(_ auditOptions: AuditOptions, _ sourceOptions: SourceOptions) throws -> (SnapshotContent, Inventory, [Diagnostic]) {
    let (report, inventory, diagnostics) = try auditOptions.run(sourceOptions: sourceOptions)
    var all = diagnostics
    if let notice = InventoryBuilder.unattributedNotice(inventory.entries, asRoot: Console.effectiveUID == 0) { all.append(notice) }
    return (SnapshotContent(entries: inventory.entries, findings: report.findings), inventory, all)
}

/// A snapshot id given on the command line.
func snapshotID(_ text: String, option: String) throws -> Int64 {
    guard let id = Int64(text), id > 0 else {
        throw UsageFailure("invalid snapshot '\(text)' for \(option): a snapshot id is a positive number (portcullis history lists them)")
    }
    return id
}
