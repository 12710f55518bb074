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
            // true when nothing narrows the selection (the name says the opposite).
            let narrowed = filter.isEmpty && query == SocketQuery()
            // Unnarrowed, every listener is shown: no filtered copy of them all.
            let shown = narrowed ? report.listeners : report.listeners.filter {
                query.protocols.contains($0.entry.socket.proto) && query.families.contains($0.entry.socket.family) && filter.matches($0.entry)
            }
            if !narrowed {
                // Findings about the sockets shown, plus host-wide ones (no socket).
                let shownInodes = Set(shown.map(\.entry.socket.inode))
                let packetInodes = Set(inventory.packetSockets.map(\.socket.inode))
                report.findings = report.findings.filter { f in
                    guard let inode = f.subject?.inode else { return true }
                    return shownInodes.contains(inode) || packetInodes.contains(inode)
                }
            }
            let shownEntries = shown.map(\.entry)
            if let notice = InventoryBuilder.unattributedNotice(shownEntries, asRoot: Console.effectiveUID == 0) { diagnostics.append(notice) }
            reportDiagnostics(diagnostics)
            inventory.diagnostics = diagnostics
            // Positions in `shown` by inode, rather than copies of every listener.
            let byInode = Dictionary(shown.indices.map { (shown[$0].entry.socket.inode, $0) }, uniquingKeysWith: { first, _ in first })
            let threshold = failOn ?? .high
            switch output.format {
            case .table:
                let style = TableStyle(color: Console.wantsColor())
                Console.write(InventoryRenderer.renderTable(shownEntries, allStates: false, style: style) { entry in
                    guard let index = byInode[entry.socket.inode] else { return ("-", nil) }
                    let verdict = shown[index].verdict
                    return ("\(verdict): \(shown[index].verdictReason)", Self.color(verdict))
                })
                Console.write("\n" + AuditRenderer.renderText(report, failOn: threshold, style: style))
            case .json:
                var narrowedReport = report
                narrowedReport.listeners = shown
                Console.write(AuditRenderer.renderJSON(narrowedReport, failOn: threshold, diagnostics: diagnostics))
            case .ndjson, .csv:
                let verdicts: (InventoryEntry) -> (verdict: String, reason: String) = { entry in
                    byInode[entry.socket.inode].map { (shown[$0].verdict, shown[$0].verdictReason) } ?? ("-", "")
                }
                renderInventory(inventory, entries: shownEntries, format: output.format, allStates: false, verdict: verdicts)
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
