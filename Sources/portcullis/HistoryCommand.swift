import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the stored snapshots (id, time, label, counts), or with --events the recorded watch events.")

        @Option(help: "Output format: table or json (with --events: one JSON event per line either way).")
        var format: OutputFormat = .table
        @Flag(help: "List the events `watch --record` stored instead of the snapshots.")
        var events = false
        @Option(help: ArgumentHelp("With --events: only the most recent N.", valueName: "N"))
        var limit: Int?
        @OptionGroup var store: StoreFlags

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit needs a positive number") }
            if limit != nil && !events { throw ValidationError("--limit applies to --events only") }
            try format.require([.table, .json], command: "history")
        }

        func run() throws {
            let store = try self.store.open(.readOnly)
            if events {
                let stored = try store.events(limit: limit)
                Console.print { HistoryRenderer.writeEventsJSON(stored, to: &$0) }
                return
            }
            let snapshots = try store.snapshots()
            let baseline = try store.baseline()?.snapshot.id
            if format == .json {
                Console.print { HistoryRenderer.writeHistoryJSON(snapshots, baseline: baseline, to: &$0) }
            } else {
                Console.print { HistoryRenderer.writeHistoryTable(snapshots, baseline: baseline, style: terminalStyle, to: &$0) }
            }
        }
    }
}
