import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux

extension Portcullis {
    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a port that is not needed: a plan first, then (with --yes) act, verify and journal for --undo.",
            discussion: """
                Prints the plan: every holder of the port's sockets, their common parent, systemd units and socket units, \
                containers, the method and why, and what will come back by itself. Changes nothing unless --yes is given \
                or the plan is confirmed at a terminal. Methods, least invasive first: unit (systemctl stop the service and \
                its .socket units), container (restart policy off, then stop), process (SIGTERM through a pidfd to the \
                leader, SIGKILL after --grace), firewall (a drop rule in table inet portcullis, before DNAT), destroy \
                (SOCK_DESTROY of established TCP connections; the listener stays). Every action is journaled in the \
                history database; --undo reverts what can be reverted.

                Exit codes: 0 closed and verified (or only planned, or nothing to close; --undo: reverted), 2 usage error, \
                3 runtime error, 5 refused (the session's own port, pid 1, no method that can run), 6 acted but the port \
                is still open (or a step failed).
                """)

        @Argument(
            help: ArgumentHelp(
                "The port, optionally with its protocol: 8080, 8080/tcp, 53/udp; with --undo, the journal id.", valueName: "PORT[/tcp|/udp]"
            ))
        var target: String?
        @Option(
            help: ArgumentHelp(
                "Act in this network namespace: host, an ip netns name, a container name or id, a pid, or an nsfs inode (default: portcullis's own).",
                valueName: "NS"))
        var netns: String?
        @Option(
            help: ArgumentHelp(
                "unit, container, process, firewall or destroy (default: the least invasive that applies).", valueName: "METHOD"))
        var method: String?
        @Flag(help: "Carry out the plan without asking.")
        var yes = false
        @Flag(help: "Act despite a safety refusal (the session's own port, pid 1).")
        var force = false
        @Option(
            help: ArgumentHelp(
                "How long after SIGTERM before SIGKILL, and the container stop timeout: 500ms, 5s, 1m.", valueName: "DURATION"))
        var grace = "5s"
        @Flag(help: "unit method: also systemctl disable the units.")
        var disable = false
        @Flag(help: "unit method: also systemctl mask the units (socket units included).")
        var mask = false
        @Flag(help: "Revert a journaled close: the one whose ID is given in place of the port, else the newest not yet undone.")
        var undo = false
        @Flag(help: "List the journal of closes.")
        var journal = false
        @OptionGroup var store: StoreFlags
        @OptionGroup var containers: ContainerStateFlags
        @Option(help: "Output format: table (text) or json.")
        var format: OutputFormat = .table

        func validate() throws {
            try format.require([.table, .json], command: "close")
            let acting = yes || force || disable || mask || method != nil || netns != nil || grace != "5s"
            if journal || undo {
                if journal && undo { throw ValidationError("--journal and --undo cannot be combined") }
                if acting { throw ValidationError("--\(journal ? "journal" : "undo") takes no other flag but --db and --format") }
                if journal, target != nil { throw ValidationError("--journal takes no port") }
                if undo, let target, Int64(target).map({ $0 <= 0 }) ?? true {
                    throw ValidationError("--undo \(target): give a journal id (a positive number, see --journal), or none for the newest")
                }
                return
            }
            guard let target else { throw ValidationError("give the port to close (8080, 8080/tcp, 53/udp), or --undo or --journal") }
            do { _ = try WhoReport.parseTarget(target) } catch { throw ValidationError(error.description) }
            if let method, CloseMethod(rawValue: method) == nil {
                throw ValidationError("--method \(method): use one of \(CloseMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let ms = PromDuration.milliseconds(grace), (0...3_600_000).contains(ms) else {
                throw ValidationError("--grace \(grace): give a duration from 0s to 1h, such as 500ms, 5s or 1m")
            }
            if let netns { do { _ = try NamespaceSelector(parsing: netns) } catch { throw ValidationError(error.description) } }
        }

        func options() throws -> CloseJob.Options {
            var options = CloseJob.Options(port: 0, database: store.db)
            options.containerState = containers.roots ?? ContainerStateRoots()
            guard let target, !undo else { return options }
            (options.port, options.proto) = try WhoReport.parseTarget(target)
            options.netns = netns
            options.request = CloseRequest(
                method: method.flatMap(CloseMethod.init(rawValue:)), graceMilliseconds: Int(PromDuration.milliseconds(grace) ?? 5000),
                disable: disable, mask: mask, force: force)
            return options
        }

        func run() throws {
            let options = try options()
            if journal {
                let lines = try CloseJob.journal(options: options)
                Console.print {
                    if format == .json {
                        $0.writeDocument(CloseRenderer.json(lines))
                    } else {
                        CloseRenderer.writeJournal(lines, style: terminalStyle, to: &$0)
                    }
                }
                return
            }
            if undo {
                let report = try CloseJob.undo(target.flatMap { Int64($0) }, options: options)
                Console.print {
                    if format == .json {
                        $0.writeDocument(CloseRenderer.json(report))
                    } else {
                        CloseRenderer.writeUndo(report, style: terminalStyle, to: &$0)
                    }
                }
                if !report.succeeded { throw ExitStatus.runtime.exit }
                return
            }
            let prepared = try CloseJob.plan(options)
            reportDiagnostics(prepared.diagnostics)
            let plan = prepared.plan
            if format == .table { Console.print { CloseRenderer.writePlan(plan, style: terminalStyle, to: &$0) } }
            guard prepared.canAct else {
                if format == .json { Console.print { $0.writeDocument(CloseRenderer.json(plan, nil)) } }
                if plan.nothingToClose { return }
                throw ExitStatus.refused.exit
            }
            guard confirmed() else {
                if format == .json { Console.print { $0.writeDocument(CloseRenderer.json(plan, nil)) } }
                Console.error("portcullis: nothing was changed (a plan only: add --yes to carry it out)")
                return
            }
            let result = try CloseJob.apply(prepared, options: options) { outcome in
                guard format == .table else { return }
                Console.write(
                    "  \(outcome.status.rawValue): \(outcome.summary)\(outcome.detail.isEmpty ? "" : "\n     \(outcome.detail)")\n")
            }
            if format == .json {
                Console.print { $0.writeDocument(CloseRenderer.json(plan, result)) }
            } else {
                var verdict = result
                verdict.outcomes = []  // printed as they happened
                Console.print { CloseRenderer.writeResult(verdict, style: terminalStyle, to: &$0) }
            }
            if !result.closedAsPromised {
                throw ExitStatus.stillOpen.exit
            }
        }

        /// --yes, or a "y" typed at a terminal. Without a terminal, never.
        func confirmed() -> Bool {
            if yes { return true }
            guard Console.isTerminal(0) && Console.isTerminal(1) else { return false }
            Console.write("Carry out this plan? [y/N] ")
            guard let answer = readLine() else { return false }
            return ["y", "yes"].contains(answer.lowercased())
        }
    }
}
