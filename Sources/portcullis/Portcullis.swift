import ArgumentParser
import PortcullisLinux
import PortcullisStore

/// Exit codes, documented in the README.
enum ExitStatus {
    static let ok: Int32 = 0
    /// Findings at or above the threshold; for `who`, nothing holds the port.
    static let findings: Int32 = 1
    static let usage: Int32 = 2
    static let runtime: Int32 = 3
}

/// A failure at run time (something could not be read), exit 3.
struct RuntimeFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Bad input found while running (a target or port list, exit 2): the
/// message alone, without a usage summary for the wrong command.
struct UsageFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@main
struct Portcullis: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "Which ports are open, who owns them, and is any of them hidden.",
        discussion: """
            With no subcommand, portcullis shows the overview: every listening \
            socket with its owner and a verdict.

            Exit codes: 0 ok, 1 findings (who: nothing holds the port; diff: a difference), 2 usage error, 3 runtime error, \
            4 hidden ports or processes found (hidden).
            """,
        version: "0.1.0",
        subcommands: [Overview.self, Audit.self, List.self, Who.self, Explain.self, Hidden.self, Scan.self, PolicyCommand.self, Snapshot.self, History.self, BaselineCommand.self, Diff.self, Watch.self],
        defaultSubcommand: Overview.self
    )

    /// Parses and runs, mapping every error to a documented exit code:
    /// ArgumentParser's own usage errors become 2, not its default 64.
    static func main() {
        Console.ignoreBrokenPipe()
        do {
            var command = try parseAsRoot(NmapSpelling.rewrite(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let failure as RuntimeFailure {
            Console.error("portcullis: error: \(failure.description)")
            Console.exit(ExitStatus.runtime)
        } catch let failure as UsageFailure {
            Console.error("portcullis: error: \(failure.description)")
            Console.exit(ExitStatus.usage)
        } catch let failure as StoreError {
            // An unknown snapshot id or a missing baseline is the user's input; the rest is the database.
            Console.error("portcullis: error: \(failure.description)")
            Console.exit(failure.isUsageError ? ExitStatus.usage : ExitStatus.runtime)
        } catch let code as ExitCode {
            Console.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Console.write(message + "\n") }
                Console.exit(ExitStatus.ok)
            }
            Console.error(message)
            Console.exit(ExitStatus.usage)
        }
    }
}
