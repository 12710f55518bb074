import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension Portcullis {
    /// The default command: one screen answering "what listens, who owns it,
    /// and should it?" — the listeners with a verdict each, then the findings.
    struct Overview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Listening sockets with owners and a verdict each, then the audit findings (the default command).",
            discussion: "Exits 0 unless --fail-on is given; then as `audit`.")

        @OptionGroup var selection: SocketSelection
        @OptionGroup var auditOptions: AuditOptions
        @Option(name: .customLong("fail-on"), help: "Exit 1 when a finding is at or above this severity (default: always exit 0).")
        var failOn: Severity?
        @OptionGroup var sourceOptions: SourceOptions
        @OptionGroup var output: FormatOption

        func run() throws {
            let filter = try selection.filter()
            var (report, inventory, diagnostics) = try auditOptions.run(sourceOptions: sourceOptions)
            let query = selection.query(listeningOnly: true)
            let shown = report.listeners.filter {
                query.protocols.contains($0.entry.socket.proto) && query.families.contains($0.entry.socket.family) && filter.matches($0.entry)
            }
            // Findings about the sockets shown, plus host-wide ones (no socket).
            let shownInodes = Set(shown.map(\.entry.socket.inode))
            let packetInodes = Set(inventory.packetSockets.map(\.socket.inode))
            let narrowed = filter.isEmpty && query == SocketQuery()
            if !narrowed {
                report.findings = report.findings.filter { f in
                    guard let inode = f.subject?.inode else { return true }
                    return shownInodes.contains(inode) || packetInodes.contains(inode)
                }
            }
            if let notice = InventoryBuilder.unattributedNotice(shown.map(\.entry), asRoot: Console.effectiveUID == 0) { diagnostics.append(notice) }
            reportDiagnostics(diagnostics)
            inventory.diagnostics = diagnostics
            let byInode = Dictionary(shown.map { ($0.entry.socket.inode, $0) }, uniquingKeysWith: { first, _ in first })
            let threshold = failOn ?? .high
            switch output.format {
            case .table:
                let style = TableStyle(color: Console.wantsColor())
                Console.write(InventoryRenderer.renderTable(shown.map(\.entry), allStates: false, style: style) { entry in
                    guard let listener = byInode[entry.socket.inode] else { return ("-", nil) }
                    return ("\(listener.verdict): \(listener.verdictReason)", Self.color(listener.verdict))
                })
                Console.write("\n" + AuditRenderer.renderText(report, failOn: threshold, style: style))
            case .json:
                var narrowedReport = report
                narrowedReport.listeners = shown
                Console.write(AuditRenderer.renderJSON(narrowedReport, failOn: threshold, diagnostics: diagnostics))
            case .ndjson, .csv:
                let verdicts: (InventoryEntry) -> (verdict: String, reason: String) = { entry in
                    byInode[entry.socket.inode].map { ($0.verdict, $0.verdictReason) } ?? ("-", "")
                }
                renderInventory(inventory, entries: shown.map(\.entry), format: output.format, allStates: false, verdict: verdicts)
            }
            if let failOn, report.count(atLeast: failOn) > 0 { throw ExitCode(ExitStatus.findings) }
        }

        static func color(_ verdict: String) -> String? {
            switch verdict {
            case "ok", "filtered": return "32"
            case "open", "info": return nil
            case "low": return "36"
            case "medium": return "33"
            default: return "31"
            }
        }
    }
}
