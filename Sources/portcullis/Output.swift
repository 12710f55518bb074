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
    switch format {
    case .table, .text, .junit:
        Console.write(InventoryRenderer.renderTable(entries, allStates: allStates, style: terminalStyle))
    case .json: InventoryRenderer.renderJSON(inventory, entries: entries, extra: extra) { Console.write($0) }
    case .ndjson: InventoryRenderer.renderNDJSON(entries, extra: extra) { Console.write($0) }
    case .csv: Console.write(InventoryRenderer.renderCSV(entries, verdict: verdict))
    }
}
