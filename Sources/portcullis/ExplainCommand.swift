import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension Portcullis {
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a port is: class, service names, what commonly runs there, security notes.")

        @Argument(help: ArgumentHelp("A port number (0-65535) or a service name such as ssh or redis.", valueName: "PORT|NAME"))
        var query: String
        @Option(help: "Output format: table (text) or json.")
        var format: OutputFormat = .table
        @Option(
            name: .customLong("proc-root"), help: ArgumentHelp("Read the ephemeral port range from this procfs tree.", valueName: "DIR"))
        var procRoot: String = "/proc"

        func validate() throws {
            try format.require([.table, .json], command: "explain")
        }

        func run() throws {
            let services = HostFiles.services(etcRoot: "/")
            let range = HostFiles.ephemeralRange(procRoot: procRoot)
            let reports: [ExplainReport]
            do { reports = try ExplainReport.build(query: query, services: services, ephemeralRange: range) } catch {
                throw UsageFailure(error.description)
            }
            if format == .json {
                Console.print { ExplainRenderer.writeJSON(reports, to: &$0) }
            } else {
                Console.print { ExplainRenderer.writeText(reports, ephemeralRange: range, style: terminalStyle, to: &$0) }
            }
        }
    }
}
