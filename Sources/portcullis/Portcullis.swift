import ArgumentParser
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

@main
struct Portcullis: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "Which ports are open, who owns them, and is any of them hidden.",
        discussion: """
            With no subcommand, portcullis shows the overview: every listening \
            socket with its owner and a verdict.

            Exit codes: 0 ok, 1 findings (who: nothing holds the port; diff: a difference), 2 usage error, 3 runtime error, \
            4 hidden ports or processes found (hidden), 5 refused for safety (close), 6 acted but the port is still open (close).
            """,
        version: "portcullis \(version) (\(buildRevision))",
        subcommands: [
            Overview.self, Audit.self, List.self, Who.self, Explain.self, Hidden.self, Scan.self, PolicyCommand.self, Snapshot.self,
            History.self, BaselineCommand.self, Diff.self, Watch.self, Serve.self, Close.self,
        ],
        defaultSubcommand: Overview.self
    )

    /// The release version: the package's, `portcullis_build_info`'s and nmap XML's `version`.
    static let version = "0.1.0"

    /// The git revision alone (`1a2b3c4`, `1a2b3c4-dirty`), or `unknown`: `portcullis_build_info`'s
    /// `revision`. `buildRevision` (`git 1a2b3c4` or `unknown revision`) is written at build time
    /// by Plugins/BuildRevision.
    static let revision = buildRevision.hasPrefix("git ") ? String(buildRevision.dropFirst(4)) : "unknown"

    /// Parses and runs; the one place errors become messages and exit codes.
    /// ArgumentParser's own usage errors become 2, not its default 64.
    static func main() {
        Console.ignoreBrokenPipe()
        do {
            var command = try parseAsRoot(NmapSpelling.rewrite(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as JobError {
            fail(error.description, ExitStatus(for: error))
        } catch let error as StoreError {
            fail(error.description, ExitStatus(for: .store(error)))
        } catch let failure as UsageFailure {
            fail(failure.description, .usage)
        } catch let code as ExitCode {
            Console.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Console.write(message + "\n") }
                Console.exit(ExitStatus.ok.rawValue)
            }
            Console.error(message)
            Console.exit(ExitStatus.usage.rawValue)
        }
    }

    static func fail(_ message: String, _ status: ExitStatus) -> Never {
        Console.error("portcullis: error: \(message)")
        Console.exit(status.rawValue)
    }
}
