import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension Portcullis {
    struct Who: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who holds a port: every socket on it, its owners, their parents and unit.",
            discussion: "Like `fuser 22/tcp` and `lsof -i :22` in one answer. Exits 1 when nothing holds the port.")

        @Argument(help: ArgumentHelp("The port, optionally with its protocol: 22, 22/tcp, 53/udp.", valueName: "PORT[/tcp|/udp]"))
        var target: String
        @OptionGroup var sourceOptions: SourceOptions
        @Option(help: "Output format: table (text) or json.")
        var format: OutputFormat = .table

        func validate() throws {
            do { _ = try WhoReport.parseTarget(target) } catch { throw ValidationError(error.description) }
            if format == .csv || format == .ndjson {
                throw ValidationError("who prints text (--format table) or --format json")
            }
        }

        func run() throws {
            let (port, proto) = try WhoReport.parseTarget(target)
            var collector = InventoryCollector(options: sourceOptions.collectorOptions(query: SocketQuery()))
            let report: WhoReport
            let inventory: Inventory
            do { (report, inventory) = try collector.who(port: port, proto: proto) } catch {
                throw RuntimeFailure(error.description)
            }
            let notice = InventoryBuilder.unattributedNotice(report.items.map(\.entry), asRoot: Console.effectiveUID == 0)
            reportDiagnostics(inventory.diagnostics + (notice.map { [$0] } ?? []))
            if format == .json {
                Console.write(InventoryRenderer.json(report).serialized(pretty: true) + "\n")
            } else {
                Console.write(InventoryRenderer.renderWho(report, style: TableStyle(color: Console.wantsColor())))
            }
            if !report.isHeld { throw ExitCode(ExitStatus.findings) }
        }
    }
}
