import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

extension OutputFormat: ExpressibleByArgument {}
extension PortClass: ExpressibleByArgument {}
extension SocketSource: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

/// `--proc-root` and `--source`: where the socket table and process information come from.
struct SourceFlags: ParsableArguments {
    @Option(
        name: .customLong("proc-root"),
        help: ArgumentHelp(
            "Read a procfs tree at DIR (e.g. a copy of another machine's /proc) instead of the live kernel.",
            valueName: "DIR"))
    var procRoot: String?

    @Option(help: "Socket table source: auto (netlink, /proc/net as fallback), netlink, or procfs.")
    var source: SocketSource = .auto

    @OptionGroup var namespaces: NamespaceFlags

    @OptionGroup var containers: ContainerStateFlags

    var hostSource: HostSource {
        HostSource(procRoot: procRoot, socketSource: source, namespaces: namespaces.selection, containerState: containers.roots)
    }

    func validate() throws {
        if procRoot != nil && !namespaces.netns.isEmpty {
            throw ValidationError("--netns reads the live kernel's namespaces; it cannot be combined with --proc-root")
        }
        if procRoot != nil && source == .netlink {
            throw ValidationError("--proc-root reads the /proc/net tables of a copy; it cannot be combined with --source netlink")
        }
        if let procRoot, procRoot.isEmpty { throw ValidationError("--proc-root needs a directory") }
    }
}

/// `--docker-root`, `--podman-root` and `--pods-log-root`: where container
/// runtimes keep the state that names the containers owners run in.
struct ContainerStateFlags: ParsableArguments {
    @Option(
        name: .customLong("docker-root"),
        help: ArgumentHelp(
            "Docker's data root, read for container names, images and published ports (default \(ContainerStateRoots.defaultDocker)).",
            valueName: "DIR"))
    var dockerRoot: String?

    @Option(
        name: .customLong("podman-root"),
        help: ArgumentHelp(
            "The containers/storage root of rootful Podman and CRI-O, read for container names and images (default \(ContainerStateRoots.defaultPodman)).",
            valueName: "DIR"))
    var podmanRoot: String?

    @Option(
        name: .customLong("pods-log-root"),
        help: ArgumentHelp(
            "The kubelet's pod log directory, read for pod namespaces and names (default \(ContainerStateRoots.defaultPodsLog)).",
            valueName: "DIR"))
    var podsLogRoot: String?

    /// The roots given, the defaults for the others; nil when none was given (the job decides).
    var roots: ContainerStateRoots? {
        guard dockerRoot != nil || podmanRoot != nil || podsLogRoot != nil else { return nil }
        return ContainerStateRoots(
            docker: dockerRoot ?? ContainerStateRoots.defaultDocker, podman: podmanRoot ?? ContainerStateRoots.defaultPodman,
            podsLog: podsLogRoot ?? ContainerStateRoots.defaultPodsLog)
    }

    func validate() throws {
        for (flag, value) in [("--docker-root", dockerRoot), ("--podman-root", podmanRoot), ("--pods-log-root", podsLogRoot)] {
            if let value, value.isEmpty { throw ValidationError("\(flag) needs a directory") }
        }
    }
}

/// `--netns`: which network namespaces to read.
struct NamespaceFlags: ParsableArguments {
    @Option(
        name: .customLong("netns"),
        help: ArgumentHelp(
            "Only this network namespace (repeatable): host, an ip netns name, a Docker sandbox, a container name or id, a pid, or an nsfs inode. As root the default is every namespace; otherwise portcullis's own.",
            valueName: "NS"))
    var netns: [String] = []

    /// Every namespace as root by default, else the ones named.
    var selection: NamespaceSelection {
        // validate() has parsed each one already.
        let selectors = netns.compactMap { try? NamespaceSelector(parsing: $0) }
        return selectors.isEmpty ? .automatic : .only(selectors)
    }

    func validate() throws {
        for text in netns {
            do { _ = try NamespaceSelector(parsing: text) } catch { throw ValidationError(error.description) }
        }
    }
}

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

/// `--policy`, `--no-policy` and `--no-firewall`: how the audit judges.
struct AuditFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Policy file (default: \(PolicyChoice.standardPath) when it exists).", valueName: "FILE"))
    var policy: String?
    @Flag(name: .customLong("no-policy"), help: "Ignore the default policy file.")
    var noPolicy = false
    @Flag(name: .customLong("no-firewall"), help: "Do not consult nftables; judge exposure from addresses alone.")
    var noFirewall = false

    func validate() throws {
        if policy != nil && noPolicy { throw ValidationError("--policy and --no-policy contradict each other; pick one") }
    }

    func options(_ source: SourceFlags, baseline: BaselineListeners? = nil) -> AuditJob.Options {
        AuditJob.Options(
            source: source.hostSource, policy: policy.map(PolicyChoice.file) ?? (noPolicy ? .none : .standard),
            judgeFirewall: !noFirewall, baseline: baseline)
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

    func open(_ mode: HistoryStore.Mode) throws(JobError) -> HistoryStore { try HistoryLocation.open(path: db, mode: mode) }
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
