import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux

extension Portcullis {
    struct Who: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who holds a port: every socket on it, its owners, their parents and unit.",
            discussion: "Like `fuser 22/tcp` and `lsof -i :22` in one answer. Exits 1 when nothing holds the port.")

        @Argument(help: ArgumentHelp("The port, optionally with its protocol: 22, 22/tcp, 53/udp.", valueName: "PORT[/tcp|/udp]"))
        var target: String
        @OptionGroup var source: SourceFlags
        @Option(help: "Output format: table (text) or json.")
        var format: OutputFormat = .table

        func validate() throws {
            do { _ = try WhoReport.parseTarget(target) } catch { throw ValidationError(error.description) }
            try format.require([.table, .json], command: "who")
        }

        func run() throws {
            let (port, proto) = try WhoReport.parseTarget(target)
            let report = try WhoJob.run(port: port, proto: proto, source: source.hostSource)
            reportDiagnostics(report.diagnostics)
            if format == .json {
                Console.print { InventoryRenderer.writeJSON(report.who, to: &$0) }
            } else {
                Console.print { InventoryRenderer.writeWho(report.who, style: terminalStyle, to: &$0) }
            }
            if !report.who.isHeld { throw ExitStatus.findings.exit }
        }
    }
}
