import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension Portcullis {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sockets with their owners (listening only, unless -a).")

        @OptionGroup var selection: SocketSelection
        @Flag(name: [.customShort("a"), .long], help: "Every state: connected, TIME_WAIT and the rest, not only listening.")
        var all = false
        @OptionGroup var sourceOptions: SourceOptions
        @OptionGroup var output: FormatOption

        func validate() throws {
            if all && selection.listening { throw ValidationError("-a/--all and -l/--listening contradict each other; pick one") }
        }

        func run() throws {
            let options = sourceOptions.collectorOptions(query: selection.query(listeningOnly: !all))
            let filter = try selection.filter()
            let (inventory, entries) = try shownInventory(options, filter: filter)
            renderInventory(inventory, entries: entries, format: output.format, allStates: all)
        }
    }
}
