import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension Portcullis {
    /// The default command: one screen answering "what listens, who owns it,
    /// and should it?".
    struct Overview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Listening sockets with owners and a verdict for each (the default command).")

        @OptionGroup var selection: SocketSelection
        @OptionGroup var sourceOptions: SourceOptions
        @OptionGroup var output: FormatOption

        func run() throws {
            let options = sourceOptions.collectorOptions(query: selection.query(listeningOnly: true))
            let filter = try selection.filter()
            let (inventory, entries) = try shownInventory(options, filter: filter)
            renderInventory(inventory, entries: entries, format: output.format, allStates: false, verdict: ListenerVerdict.judge)
            if output.format == .table { Console.write(summary(entries)) }
        }

        func summary(_ entries: [InventoryEntry]) -> String {
            var counts: [ListenerVerdict.Level: Int] = [:]
            for entry in entries { counts[ListenerVerdict.judge(entry).level, default: 0] += 1 }
            let parts = [ListenerVerdict.Level.alert, .review, .open, .ok].compactMap { level in
                counts[level].map { "\($0) \(level.rawValue)" }
            }
            return "\n\(entries.count) listening socket\(entries.count == 1 ? "" : "s")" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")) + "\n"
        }
    }
}
