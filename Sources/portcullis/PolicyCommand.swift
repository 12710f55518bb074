import ArgumentParser
import PortcullisCore
import PortcullisLinux

extension Portcullis {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "Write or check the audit policy.",
            subcommands: [Init.self, Check.self])

        /// `policy init`: allow exactly what listens now.
        struct Init: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print (or write) a starter policy that allows exactly what listens now.")

            @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write to FILE instead of standard output; refuses to overwrite an existing file.", valueName: "FILE"))
            var output: String?
            @OptionGroup var sourceOptions: SourceOptions

            func run() throws {
                var collector = InventoryCollector(options: sourceOptions.collectorOptions(query: SocketQuery()))
                var diagnostics: [Diagnostic] = []
                let firewall = sourceOptions.procRoot != nil ? nil : FirewallJudge.current(&diagnostics)
                let inventory: Inventory
                do { (_, inventory) = try collector.auditInput(firewall: nil, policy: nil, now: Clock.now()) } catch {
                    throw RuntimeFailure(error.description)
                }
                reportDiagnostics(inventory.diagnostics + diagnostics)
                // Record exposure as the audit will judge it: firewalled ports count as loopback.
                let exposures = inventory.entries.map { entry -> Exposure in
                    guard !entry.exposure.isLoopbackOnly, let verdict = firewall?(entry), verdict.isFiltered else { return entry.exposure }
                    return .loopback
                }
                let text = Policy.starter(from: inventory.entries, exposures: exposures, generatedAt: Clock.now(), host: HostFiles.hostname())
                guard let output else { Console.write(text); return }
                do { try HostFiles.createFile(output, contents: Array(text.utf8)) } catch {
                    throw RuntimeFailure("cannot write \(output): \(error)")
                }
                Console.error("portcullis: wrote \(output) (\(inventory.entries.count) listening sockets allowed)")
            }
        }

        /// `policy check FILE`: parse and report errors, exit 2 on any.
        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Check a policy file; exit 2 with FILE:LINE:COLUMN on an error.")

            @Argument(help: ArgumentHelp("The policy file.", valueName: "FILE"))
            var file: String = AuditOptions.defaultPolicy

            func run() throws {
                var options = AuditOptions()
                options.policy = file
                guard let policy = try options.loadPolicy() else { return }
                Console.write("\(file): ok (\(policy.allow.count) allow entries, \(policy.rules.count) rule overrides, \(policy.ignore.count) ignores)\n")
            }
        }
    }
}
