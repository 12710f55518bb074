import ArgumentParser
import PortcullisCore
import PortcullisJobs
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

            @Option(
                name: [.customShort("o"), .long],
                help: ArgumentHelp("Write to FILE instead of standard output; refuses to overwrite an existing file.", valueName: "FILE"))
            var output: String?
            @OptionGroup var source: SourceFlags

            func run() throws {
                let report = try PolicyStarterJob.run(source: source.hostSource)
                reportDiagnostics(report.diagnostics)
                guard let output else {
                    Console.write(report.text)
                    return
                }
                do { try HostFiles.createFile(output, contents: Array(report.text.utf8)) } catch {
                    throw JobError.output(path: output, error)
                }
                Console.error("portcullis: wrote \(output) (\(report.listenerCount) listening sockets allowed)")
            }
        }

        /// `policy check FILE`: parse and report errors, exit 2 on any.
        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Check a policy file; exit 2 with FILE:LINE:COLUMN on an error.")

            @Argument(help: ArgumentHelp("The policy file.", valueName: "FILE"))
            var file: String = PolicyChoice.standardPath

            func run() throws {
                let policy = try PolicyFile.load(file)
                Console.write(
                    "\(file): ok (\(policy.allow.count) allow entries, \(policy.rules.count) rule overrides, \(policy.ignore.count) ignores)\n"
                )
            }
        }
    }
}
