import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux

extension Portcullis {
    /// The default command: one screen answering "what listens, who owns it,
    /// and should it?" — the listeners with a verdict each, then the findings.
    struct Overview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Listening sockets with owners and a verdict each, then the audit findings (the default command).",
            discussion: "Exits 0 unless --fail-on is given; then as `audit`.")

        @OptionGroup var selection: SelectionFlags
        @OptionGroup var auditFlags: AuditFlags
        @Option(name: .customLong("fail-on"), help: "Exit 1 when a finding is at or above this severity (default: always exit 0).")
        var failOn: Severity?
        @OptionGroup var source: SourceFlags
        @Option(help: "Output format: table, json, ndjson or csv.")
        var format: OutputFormat = .table

        func validate() throws {
            try format.require([.table, .json, .ndjson, .csv], command: "the overview")
        }

        func run() throws {
            let report = try OverviewJob.run(
                OverviewJob.Options(
                    audit: auditFlags.options(source), query: selection.query(listeningOnly: true), filter: try selection.filter()))
            reportDiagnostics(report.diagnostics)
            let threshold = failOn ?? .high
            switch format {
            case .json:
                Console.print { AuditRenderer.writeJSON(report.audit, failOn: threshold, diagnostics: report.diagnostics, to: &$0) }
            case .ndjson, .csv:
                renderInventory(report.inventory, entries: report.entries, format: format, allStates: false) { entry in
                    report.listener(inode: entry.socket.inode).map { ($0.verdict.jsonName, $0.verdictReason) } ?? ("-", "")
                }
            case .table, .text, .junit:
                let style = terminalStyle
                Console.print { out in
                    InventoryRenderer.writeOverviewTable(report.audit.listeners, style: style, to: &out)
                    out.write("\n")
                    AuditRenderer.writeText(report.audit, failOn: threshold, style: style, to: &out)
                }
            }
            if let failOn, report.audit.count(atLeast: failOn) > 0 { throw ExitStatus.findings.exit }
        }
    }
}
