import ArgumentParser
import PortcullisCore
import PortcullisJobs

extension Portcullis {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sockets with their owners (listening only, unless -a).")

        @OptionGroup var selection: SelectionFlags
        @Flag(name: [.customShort("a"), .long], help: "Every state: connected, TIME_WAIT and the rest, not only listening.")
        var all = false
        @OptionGroup var source: SourceFlags
        @Option(help: "Output format: table, json, ndjson or csv.")
        var format: OutputFormat = .table

        func validate() throws {
            if all && selection.listening { throw ValidationError("-a/--all and -l/--listening contradict each other; pick one") }
            try format.require([.table, .json, .ndjson, .csv], command: "list")
        }

        func run() throws {
            let report = try InventoryJob.run(
                InventoryJob.Options(
                    source: source.hostSource, query: selection.query(listeningOnly: !all), filter: try selection.filter()))
            reportDiagnostics(report.diagnostics)
            renderInventory(report.inventory, entries: report.entries, format: format, allStates: all)
        }
    }
}
