import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "List the stored snapshots (id, time, label, counts), with --events the recorded watch events, with --scans the recorded scans."
        )

        @Option(help: "Output format: table or json (with --events: one JSON event per line either way).")
        var format: OutputFormat = .table
        @Flag(help: "List the events `watch --record` stored instead of the snapshots.")
        var events = false
        @Flag(help: "List the scans `scan --record` stored (id, time, targets, ports, hosts up, open ports) instead of the snapshots.")
        var scans = false
        @Option(help: ArgumentHelp("With --events or --scans: only the most recent N.", valueName: "N"))
        var limit: Int?
        @OptionGroup var store: StoreFlags

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit needs a positive number") }
            if limit != nil && !events && !scans { throw ValidationError("--limit applies to --events and --scans only") }
            if events && scans { throw ValidationError("--events and --scans list different things: give one of them") }
            try format.require([.table, .json], command: "history")
        }

        func run() throws {
            if scans {
                let recorded = try ScanHistoryJob.list(
                    in: store.open(.readOnly, firstStep: ScanHistoryJob.firstStep), limit: limit)
                if format == .json {
                    Console.print { ScanHistoryRenderer.writeScansJSON(recorded, to: &$0) }
                } else {
                    Console.print { ScanHistoryRenderer.writeScansTable(recorded, style: terminalStyle, to: &$0) }
                }
                return
            }
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
