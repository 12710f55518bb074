import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A verdict for every listening port: findings with evidence and fixes.",
            discussion:
                "Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 usage or policy error (or --baseline without a baseline), 3 runtime error."
        )

        @OptionGroup var auditFlags: AuditFlags
        @Option(
            name: .customLong("fail-on"), help: "Exit 1 when a finding is at or above this severity: info, low, medium, high, critical.")
        var failOn: Severity = .high
        @Option(help: "Output format: table (text report), json, ndjson (one finding per line) or junit (JUnit XML).")
        var format: OutputFormat = .table
        @OptionGroup var source: SourceFlags
        @Flag(help: "Add a not-in-baseline finding for every listener the baseline snapshot does not have.")
        var baseline = false
        @OptionGroup var store: StoreFlags

        func validate() throws {
            try format.require([.table, .json, .ndjson, .junit], command: "audit")
        }

        func run() throws {
            let reference = baseline ? try BaselineJob.listeners(in: store.open(.readOnly)) : nil
            let report = try AuditJob.run(auditFlags.options(source, baseline: reference, history: store.db))
            reportDiagnostics(report.diagnostics)
            let audit = report.audit
            switch format {
            case .json: Console.print { AuditRenderer.writeJSON(audit, failOn: failOn, diagnostics: report.diagnostics, to: &$0) }
            case .ndjson: Console.print { AuditRenderer.writeNDJSON(audit, to: &$0) }
            case .junit: Console.print { AuditRenderer.writeJUnit(audit, failOn: failOn, to: &$0) }
            case .table, .text, .csv: Console.print { AuditRenderer.writeText(audit, failOn: failOn, style: terminalStyle, to: &$0) }
            }
            if audit.count(atLeast: failOn) > 0 { throw ExitStatus.findings.exit }
        }
    }
}
