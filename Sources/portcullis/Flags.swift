import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension OutputFormat: ExpressibleByArgument {}
extension PortClass: ExpressibleByArgument {}
extension SocketSource: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

/// Socket selection shared by list and the overview, named as in ss/netstat.
struct SelectionFlags: ParsableArguments {
    @Flag(name: [.customShort("t"), .long], help: "TCP sockets.") var tcp = false
    @Flag(name: [.customShort("u"), .long], help: "UDP sockets.") var udp = false
    @Flag(name: [.customShort("w"), .long], help: "RAW sockets.") var raw = false
    @Flag(name: [.customShort("4"), .customLong("ipv4")], help: "IPv4 only.") var ipv4 = false
    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "IPv6 only.") var ipv6 = false

    @Option(help: ArgumentHelp("Local port, range or list: 22, 8000-8100, 22,80,443.", valueName: "PORTS"))
    var port: String?
    @Option(help: ArgumentHelp("Sockets held by this process (repeatable).", valueName: "PID"))
    var pid: [Int32] = []
    @Option(help: ArgumentHelp("Sockets of this user: a name or a numeric uid.", valueName: "NAME|UID"))
    var user: String?
    @Option(help: ArgumentHelp("Sockets held by a process of this name (comm or executable base name).", valueName: "NAME"))
    var process: String?
    @Option(name: .customLong("class"), help: "Port class: system (0-1023), registered (1024-49151) or dynamic (49152-65535).")
    var portClass: PortClass?
    @Flag(help: "Only sockets reachable beyond loopback.") var exposed = false

    @Flag(name: [.customShort("l"), .long], help: "Listening sockets only (the default).")
    var listening = false
    @Flag(name: [.customShort("n"), .long], help: "Numeric output (always the case; accepted for ss muscle memory).")
    var numeric = false
    @Flag(name: [.customShort("p"), .long], help: "Show processes (always the case; accepted for ss muscle memory).")
    var processes = false

    func query(listeningOnly: Bool) -> SocketQuery {
        var protocols = Set<TransportProtocol>()
        if tcp { protocols.insert(.tcp) }
        if udp { protocols.insert(.udp) }
        if raw { protocols.insert(.raw) }
        if protocols.isEmpty { protocols = Set(TransportProtocol.allCases) }
        var families = Set<AddressFamily>()
        if ipv4 { families.insert(.ipv4) }
        if ipv6 { families.insert(.ipv6) }
        if families.isEmpty { families = Set(AddressFamily.allCases) }
        return SocketQuery(protocols: protocols, families: families, listeningOnly: listeningOnly)
    }

    func filter() throws -> SocketFilter {
        var filter = SocketFilter()
        if let port {
            do { filter.ports = try PortSpec(parsing: port) } catch { throw ValidationError(error.description) }
        }
        filter.pids = Set(pid)
        filter.user = user
        filter.process = process
        filter.portClass = portClass
        filter.exposedOnly = exposed
        return filter
    }

    func validate() throws {
        _ = try filter()
        if let bad = pid.first(where: { $0 <= 0 }) {
            throw ValidationError("invalid value '\(bad)' for --pid: a process id is a positive number")
        }
        if let user, user.isEmpty { throw ValidationError("--user needs a user name or a numeric uid") }
        if let process, process.isEmpty { throw ValidationError("--process needs a process name") }
    }
}

/// `--policy`, `--no-policy`, `--no-firewall` and `--no-probe`: how the audit judges.
struct AuditFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Policy file (default: \(PolicyChoice.standardPath) when it exists).", valueName: "FILE"))
    var policy: String?
    @Flag(name: .customLong("no-policy"), help: "Ignore the default policy file.")
    var noPolicy = false
    @Flag(name: .customLong("no-firewall"), help: "Do not consult nftables; judge exposure from addresses alone.")
    var noFirewall = false
    @Option(
        name: .customLong("client-window"),
        help: ArgumentHelp(
            "Days of snapshots in the history database searched for remote clients of exposed datastores (0: do not look).",
            valueName: "DAYS"))
    var clientWindow = 7
    @Flag(
        name: .customLong("no-probe"),
        help: "Do not run the safe local probes (read-only requests to exposed datastores, admin APIs and SNMP; on by default as root).")
    var noProbe = false

    func validate() throws {
        if policy != nil && noPolicy { throw ValidationError("--policy and --no-policy contradict each other; pick one") }
        if !(0...3650).contains(clientWindow) {
            throw ValidationError("--client-window \(clientWindow): give a number of days from 0 (do not look) to 3650")
        }
    }

    func options(_ source: SourceFlags, baseline: BaselineListeners? = nil, history: String? = nil) -> AuditJob.Options {
        options(host: source.hostSource, baseline: baseline, history: history)
    }

    func options(host: HostSource, baseline: BaselineListeners? = nil, history: String? = nil) -> AuditJob.Options {
        var options = AuditJob.Options(
            source: host, policy: policy.map(PolicyChoice.file) ?? (noPolicy ? .none : .standard),
            judgeFirewall: !noFirewall, baseline: baseline, probe: !noProbe && AuditJob.probesByDefault)
        options.clientWindowDays = clientWindow
        options.historyPath = history
        return options
    }
}

/// `--db PATH`, shared by every command that reads or writes history.
struct StoreFlags: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "History database (default: /var/lib/portcullis/portcullis.db as root, else $XDG_STATE_HOME/portcullis/portcullis.db or ~/.local/state/portcullis/portcullis.db).",
            valueName: "PATH"))
    var db: String?

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db needs a file path") }
    }

    func open(_ mode: HistoryStore.Mode, firstStep: String? = nil) throws(JobError) -> HistoryStore {
        try HistoryLocation.open(path: db, mode: mode, firstStep: firstStep)
    }
}

extension OutputFormat {
    /// Refuses a format the command does not print, naming those it does.
    /// `table` and `text` are one format: a command that prints one accepts both.
    func require(_ accepted: [OutputFormat], command: String) throws {
        guard !(isText ? accepted.contains(where: \.isText) : accepted.contains(self)) else { return }
        let names = accepted.map { $0.isText ? "table (or text)" : $0.rawValue }
        let list = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "") : names.joined()
        throw ValidationError("\(command) prints --format \(list), not \(rawValue)")
    }
}
