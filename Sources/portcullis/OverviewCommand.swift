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
            let inventory = try collectInventory(options)
            let entries = inventory.entries.filter(filter.matches)
            reportDiagnostics(inventory.diagnostics)
            switch output.format {
            case .table:
                renderInventory(inventory, entries: entries, format: .table, allStates: false) { entry in
                    let verdict = ListenerVerdict.judge(entry)
                    return (verdict.text, verdict.level.color)
                }
                Console.write(summary(entries))
            case .json, .ndjson, .csv:
                // Machine formats carry the verdict as two extra fields.
                renderVerdicts(inventory, entries, format: output.format)
            }
        }

        func summary(_ entries: [InventoryEntry]) -> String {
            var counts: [ListenerVerdict.Level: Int] = [:]
            for entry in entries { counts[ListenerVerdict.judge(entry).level, default: 0] += 1 }
            let parts = [ListenerVerdict.Level.alert, .review, .open, .ok].compactMap { level in
                counts[level].map { "\($0) \(level.rawValue)" }
            }
            return "\n\(entries.count) listening socket\(entries.count == 1 ? "" : "s")" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")) + "\n"
        }

        func renderVerdicts(_ inventory: Inventory, _ entries: [InventoryEntry], format: OutputFormat) {
            func withVerdict(_ entry: InventoryEntry) -> JSONValue {
                guard case .object(var fields) = InventoryRenderer.json(entry) else { return .null }
                let verdict = ListenerVerdict.judge(entry)
                fields.append(("verdict", .string(verdict.level.rawValue)))
                fields.append(("verdict_reason", .string(verdict.reason)))
                return .object(fields)
            }
            switch format {
            case .ndjson:
                var out: [UInt8] = []
                for entry in entries {
                    withVerdict(entry).write(into: &out, pretty: false, indent: 0)
                    out.append(0x0a)
                }
                Console.write(out)
            case .csv:
                var text = CSV.row(InventoryRenderer.csvHeader + ["verdict", "verdict_reason"])
                let rows = String(decoding: InventoryRenderer.renderCSV(entries), as: UTF8.self)
                    .split(separator: "\r\n", omittingEmptySubsequences: true).dropFirst()
                for (row, entry) in zip(rows, entries) {
                    let verdict = ListenerVerdict.judge(entry)
                    text += row + "," + CSV.row([verdict.level.rawValue, verdict.reason])
                }
                Console.write(text)
            default:
                let document = JSONValue.object([
                    ("source", .string(inventory.source)),
                    ("sockets", .array(entries.map(withVerdict))),
                    ("diagnostics", .array(inventory.diagnostics.map(InventoryRenderer.json))),
                ])
                Console.write(document.serialized(pretty: true) + "\n")
            }
        }
    }
}
