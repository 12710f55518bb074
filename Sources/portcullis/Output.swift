import PortcullisCore
import PortcullisLinux

/// Diagnostics go to stderr, one line each, whatever the output format.
func reportDiagnostics(_ diagnostics: [Diagnostic]) {
    for diagnostic in diagnostics { Console.error("portcullis: \(diagnostic)") }
}

/// How tables are drawn on this standard output.
var terminalStyle: TableStyle { TableStyle(color: Console.wantsColor()) }

/// Sockets in any format: the table for people, JSON (with the inventory's
/// diagnostics), NDJSON or CSV. `verdict` adds two fields per socket (the overview).
func renderInventory(
    _ inventory: Inventory, entries: [InventoryEntry], format: OutputFormat, allStates: Bool,
    verdict: ((InventoryEntry) -> (verdict: String, reason: String))? = nil
) {
    // Machine formats carry a verdict as two extra fields.
    let extra: (InventoryEntry) -> [(String, JSONValue)] = { entry in
        guard let v = verdict?(entry) else { return [] }
        return [("verdict", .string(v.verdict)), ("verdict_reason", .string(v.reason))]
    }
    Console.print { out in
        switch format {
        case .table, .text, .junit: InventoryRenderer.writeTable(entries, allStates: allStates, style: terminalStyle, to: &out)
        case .json: InventoryRenderer.writeJSON(inventory, entries: entries, extra: extra, to: &out)
        case .ndjson: InventoryRenderer.writeNDJSON(entries, extra: extra, to: &out)
        case .csv: InventoryRenderer.writeCSV(entries, verdict: verdict, to: &out)
        }
    }
}
