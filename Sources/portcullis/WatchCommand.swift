import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisStore

enum WatchFormat: String, ExpressibleByArgument, CaseIterable { case text, ndjson }

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
        var format: WatchFormat = .text
        @Flag(help: "Store the events in the history database.")
        var record = false
        @Option(help: ArgumentHelp("Run PROGRAM for each event, without a shell, with the event's JSON on its stdin.", valueName: "PROGRAM"))
        var exec: String?
        @Option(name: .customLong("exec-arg"), parsing: .unconditionalSingleValue, help: ArgumentHelp("An argument for the --exec program (repeatable, in order).", valueName: "ARG"))
        var execArguments: [String] = []
        @Flag(help: "Send each event to syslog (facility daemon).")
        var syslog = false
        @Option(name: .customLong("syslog-socket"), help: ArgumentHelp("The syslog datagram socket (default /dev/log).", valueName: "PATH"))
        var syslogSocket: String?
        @OptionGroup var storeOptions: StoreOptions

        func validate() throws {
            guard interval.isFinite, interval >= 0.1, interval <= 3600 else {
                throw ValidationError("invalid value '\(interval)' for --interval: seconds between 0.1 and 3600")
            }
            if !execArguments.isEmpty && exec == nil { throw ValidationError("--exec-arg needs --exec PROGRAM") }
            if let exec, exec.isEmpty { throw ValidationError("--exec needs a program") }
            if syslogSocket != nil && !syslog { throw ValidationError("--syslog-socket needs --syslog") }
            if storeOptions.db != nil && !record { throw ValidationError("--db is where --record stores events; add --record") }
        }

        func run() throws {
            let store = record ? try storeOptions.open(.readWrite) : nil
            var command: EventCommand?
            if let exec {
                do { command = try EventCommand(program: exec, arguments: execArguments, searchPath: Console.environment("PATH")) } catch {
                    throw UsageFailure(error.description)
                }
            }
            let sink: SyslogSink?
            do { sink = syslog ? try SyslogSink(path: syslogSocket ?? "/dev/log") : nil } catch { throw RuntimeFailure(error.description) }
            do { try StopSignals.install() } catch { throw RuntimeFailure("cannot handle SIGINT/SIGTERM: \(error)") }

            let watcher: ListenerWatcher
            do {
                watcher = try ListenerWatcher()
                try watcher.start()
            } catch { throw RuntimeFailure(error.description) }
            reportDiagnostics(watcher.takeDiagnostics())
            let step = Int64((interval * 1000).rounded())
            Console.error("portcullis: notice: watching \(watcher.listenerCount) listeners (\(watcher.socketCount) sockets) every \(interval)s; Ctrl-C to stop")

            var next = Clock.monotonicMilliseconds() + step
            var failure: String?
            while failure == nil {
                if StopSignals.sleep(milliseconds: next - Clock.monotonicMilliseconds()) { break }
                next += step
                let now = Clock.monotonicMilliseconds()
                if next < now { next = now + step }  // a slow poll: skip, do not catch up in a burst
                let events: [WatchEvent]
                do { events = try watcher.poll(time: Clock.realtimeMilliseconds()) } catch {
                    failure = error.description
                    break
                }
                reportDiagnostics(watcher.takeDiagnostics())
                var output: [UInt8] = []
                for event in events {
                    let json = Array(HistoryRenderer.json(event).serialized().utf8) + [0x0a]
                    switch format {
                    case .ndjson: output += json
                    case .text: output += Array(HistoryRenderer.text(event).utf8)
                    }
                    command?.run(input: json)
                    if let sink {
                        do { try sink.send(severity: event.syslogSeverity, message: String(HistoryRenderer.text(event).dropLast()), seconds: event.timeMilliseconds / 1000) } catch {
                            Console.error("portcullis: warning: \(error)")
                        }
                    }
                }
                if !output.isEmpty { Console.write(output) }
                if let store, !events.isEmpty {
                    do { try store.record(events) } catch { failure = error.description }
                }
                command?.reap()
                for message in command?.takeFailures() ?? [] { Console.error("portcullis: warning: \(message)") }
            }
            command?.finish(milliseconds: 5000)
            for message in command?.takeFailures() ?? [] { Console.error("portcullis: warning: \(message)") }
            if let failure { throw RuntimeFailure(failure) }
            let name = StopSignals.received == 15 ? "SIGTERM" : "SIGINT"
            Console.error("portcullis: notice: stopped by \(name)")
        }
    }
}
