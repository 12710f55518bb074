import PortcullisCore

/// Why `close` could not plan or act: a usage error (exit 2) or a failure at run time (exit 3).
public struct CloseError: Error, Sendable, CustomStringConvertible {
    /// The message.
    public var description: String
    /// The command line was wrong (an unknown namespace), not the system.
    public var isUsageError: Bool

    /// An error.
    public init(_ description: String, usage: Bool = false) {
        self.description = description
        self.isUsageError = usage
    }
}

/// The network namespace a close acts in.
public struct CloseNamespace: Sendable, Hashable {
    /// The namespace.
    public var namespace: NetworkNamespace
    /// A path to enter it by (`/run/netns/NAME`, `/proc/PID/ns/net`); nil when it is portcullis's own.
    public var entryPath: String?
    /// As the user named it (`--netns`), else `host` or the namespace's label.
    public var label: String

    /// A namespace to act in.
    public init(namespace: NetworkNamespace, entryPath: String?, label: String) {
        self.namespace = namespace
        self.entryPath = entryPath
        self.label = label
    }

    /// Runs `body` inside the namespace: on a thread of its own when it is
    /// another one (the thread, and the processes it starts, are in it).
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) throws(CloseError) -> T {
        guard let path = entryPath else { return body() }
        switch Sys.inNetworkNamespace(path, body) {
        case .success(let value): return value
        case .failure(let error): throw CloseError("cannot enter network namespace \(label) (\(path)): \(error)")
        }
    }
}

/// Reads what the close planner needs from the live host.
public enum CloseFactGatherer {
    /// The namespace named by `netns` (`--netns`), else the one portcullis runs in.
    public static func namespace(_ netns: String?, procRoot: String = "/proc") throws(CloseError) -> CloseNamespace {
        let procfs: ProcFS
        do { procfs = try ProcFS(root: procRoot) } catch { throw CloseError("cannot open \(procRoot): \(error)") }
        let discovery = NamespaceDiscovery.discover(procfs: procfs)
        guard let netns else {
            guard let own = discovery.namespace(inode: discovery.own) else {
                throw CloseError("cannot find portcullis's own network namespace in \(procRoot)")
            }
            return CloseNamespace(namespace: own.namespace, entryPath: nil, label: own.namespace.isHost ? "host" : own.namespace.label)
        }
        let selector: NamespaceSelector
        do { selector = try NamespaceSelector(parsing: netns) } catch { throw CloseError(error.description, usage: true) }
        var hits = discovery.found.filter { selector.matches($0.namespace, pids: $0.pids, containers: []) }
        if hits.isEmpty, case .name(let name) = selector {
            // A container's name or id: the namespace its processes are in.
            var describer = ProcessDescriber(procfs: procfs, users: [:], isLive: procRoot == "/proc", containers: nil)
            hits = discovery.found.filter { found in
                found.pids.prefix(64).contains { pid in
                    guard let owner = describer.describe(pid), let reference = owner.containerReference else { return false }
                    return reference.name == name || (reference.id.map { $0 == name || ($0.hasPrefix(name) && name.count >= 12) } ?? false)
                }
            }
        }
        guard hits.count == 1, let found = hits.first else {
            throw CloseError(
                hits.isEmpty
                    ? "--netns \(UntrustedText.escape(netns)): no such network namespace (see `portcullis list --netns` or `ip netns list`)"
                    : "--netns \(UntrustedText.escape(netns)) names \(hits.count) network namespaces; name one by its inode",
                usage: true)
        }
        let isOwn = found.namespace.inode == discovery.own
        return CloseNamespace(namespace: found.namespace, entryPath: isOwn ? nil : found.entryPath(procRoot: procRoot), label: netns)
    }

    /// The facts about `port` (`proto`, nil for both) in `namespace`, and what could not be read.
    public static func gather(
        port: UInt16, proto: TransportProtocol?, in namespace: CloseNamespace, tools: CloseTools = CloseTools(),
        containerState: ContainerStateRoots? = ContainerStateRoots(), environment: (@Sendable (String) -> String?)? = nil
    ) throws(CloseError) -> (CloseFacts, [Diagnostic]) {
        let environment = environment ?? { Sys.environment($0) }
        var facts = CloseFacts(port: port, proto: proto, namespace: namespace.label)
        var options = InventoryCollector.Options()
        options.namespaces = .only([.inode(namespace.namespace.inode)])
        options.containerState = containerState
        var collector = InventoryCollector(options: options)
        let who: WhoReport
        var diagnostics: [Diagnostic]
        do {
            let (report, inventory) = try collector.who(port: port, proto: proto)
            who = report
            diagnostics = inventory.diagnostics
        } catch { throw CloseError(error.description) }
        let procfs: ProcFS
        do { procfs = try ProcFS() } catch { throw CloseError("cannot open /proc: \(error)") }

        // The sockets and their holders.
        var holders: [Int32: CloseProcess] = [:]
        var order: [Int32] = []
        var references: [String: ContainerReference] = [:]
        for item in who.items where item.role == .local {
            let entry = item.entry
            facts.sockets.append(CloseSocket(record: entry.socket, holders: entry.owners.map(\.pid)))
            for owner in entry.owners {
                if holders[owner.pid] == nil {
                    guard let ticks = startTicks(owner.pid, procfs) else { continue }  // exited meanwhile
                    holders[owner.pid] = CloseProcess(
                        pid: owner.pid, ppid: owner.ppid, name: owner.name, cmdline: owner.cmdline, user: owner.user, startTicks: ticks,
                        unit: owner.unit, container: owner.container ?? owner.containerReference?.id)
                    order.append(owner.pid)
                    if let reference = owner.containerReference, let id = reference.id { references[id] = reference }
                }
                if !(holders[owner.pid]?.inodes.contains(entry.socket.inode) ?? true) {
                    holders[owner.pid]?.inodes.append(entry.socket.inode)
                }
            }
            for chain in item.ancestors.values {
                for parent in chain where facts.parents[parent.pid] == nil {
                    facts.parents[parent.pid] = CloseProcess(
                        pid: parent.pid, ppid: parent.ppid, name: parent.name, cmdline: parent.cmdline, user: parent.user, startTicks: 0,
                        unit: parent.unit)
                }
            }
        }
        facts.holders = order.compactMap { holders[$0] }
        for pid in order { facts.parents[pid] = nil }

        units(&facts, tools, &diagnostics)
        containers(&facts, references, tools, &diagnostics)
        facts.publications = try publications(port: port, proto: proto, in: namespace, &diagnostics)
        session(&facts, who: who, namespace: namespace, procfs: procfs, environment: environment)
        if let why = tools.unavailable(tools.nft, name: "nft (nftables)") { facts.unavailable[.firewall] = why }
        return (facts, diagnostics)
    }

    /// Field 22 of /proc/PID/stat; nil when the process is gone.
    static func startTicks(_ pid: Int32, _ procfs: ProcFS) -> UInt64? {
        (try? procfs.read("\(pid)/stat")).flatMap(ProcessFiles.parseStat)?.startTicks
    }

    /// `systemctl show` of the holders' units and their socket units; `list-sockets` for the port.
    static func units(_ facts: inout CloseFacts, _ tools: CloseTools, _ diagnostics: inout [Diagnostic]) {
        if !tools.systemdRunning {
            facts.unavailable[.unit] = "systemd is not running this machine (no \(tools.systemdMarker))"
            return
        }
        if let why = tools.unavailable(tools.systemctl, name: "systemctl") {
            facts.unavailable[.unit] = why
            return
        }
        do {
            let listing = try tools.run(tools.systemctl, ["list-sockets", "--all", "--no-legend", "--full", "--no-pager"])
            facts.socketUnits = SystemctlText.parseListSockets(listing).filter { $0.port == facts.port }
        } catch {
            diagnostics.append(Diagnostic(.warning, "cannot list systemd's socket units: \(error)"))
        }
        var wanted = Set(facts.holders.compactMap(\.unit).filter { $0.hasSuffix(".service") || $0.hasSuffix(".socket") })
        for socketUnit in facts.socketUnits {
            wanted.insert(socketUnit.name)
            wanted.formUnion(socketUnit.activates)
        }
        var asked: Set<String> = []
        // Twice at most: the services, then the socket units their TriggeredBy names.
        for _ in 0..<2 {
            let batch = wanted.subtracting(asked).sorted()
            guard !batch.isEmpty else { break }
            asked.formUnion(batch)
            do {
                let text = try tools.run(tools.systemctl, ["show", "-p", SystemctlText.properties.joined(separator: ","), "--"] + batch)
                for state in SystemctlText.parseShow(text) {
                    facts.units[state.name] = state
                    wanted.formUnion(state.triggeredBy.filter { $0.hasSuffix(".socket") })
                }
            } catch {
                diagnostics.append(Diagnostic(.warning, "cannot ask systemd about \(batch.joined(separator: ", ")): \(error)"))
                facts.unavailable[.unit] = "systemctl show failed: \(error)"
                return
            }
        }
    }

    /// The holders' containers, with their restart policies from the runtime's CLI.
    static func containers(
        _ facts: inout CloseFacts, _ references: [String: ContainerReference], _ tools: CloseTools, _ diagnostics: inout [Diagnostic]
    ) {
        for id in Set(facts.holders.compactMap(\.container)).sorted() {
            guard let reference = references[id] else { continue }
            let cli: [String]
            switch reference.runtime {
            case .docker: cli = tools.docker
            case .podman: cli = tools.podman
            default:
                facts.unavailable[.container] =
                    "container \(id.prefix(12)) runs under \(reference.runtime.rawValue); portcullis stops Docker and Podman containers only"
                continue
            }
            if let why = tools.unavailable(cli, name: reference.runtime.rawValue) {
                facts.unavailable[.container] = why
            }
            let policy = try? tools.run(cli, ["inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", id])
            facts.containers.append(
                CloseContainer(
                    id: id, name: reference.name, runtime: reference.runtime.rawValue,
                    restartPolicy: policy.map { String($0.split(separator: "\n").first ?? "") }))
        }
    }

    /// DNAT rules of the namespace's own firewall that publish the port.
    static func publications(
        port: UInt16, proto: TransportProtocol?, in namespace: CloseNamespace, _ diagnostics: inout [Diagnostic]
    ) throws(CloseError) -> [PortPublication] {
        let snapshot = try namespace.run { FirewallReader.read() }
        guard let model = snapshot.model else { return [] }
        return model.publishedPorts().ports.filter { p in p.hostPorts.contains(port) && (proto == nil || p.proto == proto) }
    }

    /// The ports this command's session comes in through: SSH_CONNECTION's
    /// server port (in the host's namespace), and the port's established
    /// sockets held by this process's ancestors (the session's sshd, a
    /// terminal multiplexer's server).
    static func session(
        _ facts: inout CloseFacts, who: WhoReport, namespace: CloseNamespace, procfs: ProcFS, environment: (String) -> String?
    ) {
        if namespace.entryPath == nil, let ssh = environment("SSH_CONNECTION") {
            let fields = ssh.split(separator: " ")
            if fields.count == 4, let serverPort = UInt16(fields[3]) {
                facts.sessionPorts.insert(serverPort)
                if serverPort == facts.port {
                    facts.sessionEvidence.append("SSH_CONNECTION says this session came in on port \(serverPort)")
                }
            }
        }
        var ancestors: Set<Int32> = []
        var pid = Sys.processID()
        while pid > 1, ancestors.count < 64, let stat = (try? procfs.read("\(pid)/stat")).flatMap(ProcessFiles.parseStat) {
            ancestors.insert(pid)
            pid = stat.ppid
        }
        for item in who.items where item.role == .local && item.entry.socket.state == .established {
            if let owner = item.entry.owners.first(where: { ancestors.contains($0.pid) }) {
                facts.sessionPorts.insert(facts.port)
                facts.sessionEvidence.append("\(owner.name) (pid \(owner.pid)), an ancestor of this command, holds a connection on it")
            }
        }
    }
}
