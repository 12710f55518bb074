import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Watch the listeners live: an event for each one opened or closed and each change of owner.",
            discussion: """
                Polls the kernel over netlink every --interval. Events go to standard output \
                (text, or one JSON object per line with --format ndjson), and with --record, \
                --exec and --syslog to the database, a program and syslog. Ctrl-C or SIGTERM \
                ends it cleanly (exit 0).

                Exit codes: 0 stopped by a signal, 2 usage error, 3 runtime error.
                """)

        @Option(help: ArgumentHelp("Seconds between polls (0.1 to 3600, default 1).", valueName: "SECONDS"))
        var interval: Double = 1
        @Option(help: "Output format: text or ndjson.")
        var format: OutputFormat = .text
        @Flag(help: "Store the events in the history database.")
        var record = false
        @Option(
            help: ArgumentHelp("Run PROGRAM for each event, without a shell, with the event's JSON on its stdin.", valueName: "PROGRAM"))
        var exec: String?
        @Option(
            name: .customLong("exec-arg"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("An argument for the --exec program (repeatable, in order).", valueName: "ARG"))
        var execArguments: [String] = []
        @Flag(help: "Send each event to syslog (facility daemon).")
        var syslog = false
        @Option(name: .customLong("syslog-socket"), help: ArgumentHelp("The syslog datagram socket (default /dev/log).", valueName: "PATH"))
        var syslogSocket: String?
        @OptionGroup var store: StoreFlags
        @OptionGroup var containers: ContainerStateFlags
        @OptionGroup var namespaces: NamespaceFlags

        func validate() throws {
            guard interval.isFinite, interval >= 0.1, interval <= 3600 else {
                throw ValidationError("invalid value '\(interval)' for --interval: seconds between 0.1 and 3600")
            }
            if !execArguments.isEmpty && exec == nil { throw ValidationError("--exec-arg needs --exec PROGRAM") }
            if let exec, exec.isEmpty { throw ValidationError("--exec needs a program") }
            if syslogSocket != nil && !syslog { throw ValidationError("--syslog-socket needs --syslog") }
            if store.db != nil && !record { throw ValidationError("--db is where --record stores events; add --record") }
            try format.require([.text, .ndjson], command: "watch")
        }

        func run() throws {
            var options = WatchSession.Options()
            options.intervalMilliseconds = Int64((interval * 1000).rounded())
            options.store = record ? try store.open(.readWrite) : nil
            options.watcher.containerState = containers.roots ?? ContainerStateRoots()
            options.watcher.namespaces = namespaces.selection
            if let exec {
                do {
                    options.command = try EventCommand(program: exec, arguments: execArguments, searchPath: Console.environment("PATH"))
                } catch {
                    throw UsageFailure(error.description)
                }
            }
            if syslog {
                do { options.syslog = try SyslogSink(path: syslogSocket ?? "/dev/log") } catch { throw JobError.collection(error) }
            }
            do { try StopSignals.install() } catch { throw JobError.system("handle SIGINT/SIGTERM", error) }

            let session = try WatchSession(options)
            reportDiagnostics(session.takeDiagnostics())
            Console.error(
                "portcullis: notice: watching \(session.listenerCount) listeners (\(session.socketCount) sockets) every \(interval)s; Ctrl-C to stop"
            )
            do {
                while let events = try session.next() {
                    reportDiagnostics(session.takeDiagnostics())
                    if !events.isEmpty { Console.print { HistoryRenderer.writeEvents(events, json: format == .ndjson, to: &$0) } }
                }
            } catch {
                session.finish()
                reportDiagnostics(session.takeDiagnostics())
                throw error
            }
            session.finish()
            reportDiagnostics(session.takeDiagnostics())
            Console.error("portcullis: notice: stopped by \(StopSignals.received == 15 ? "SIGTERM" : "SIGINT")")
        }

    }
}
