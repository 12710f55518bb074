import PortcullisCore

/// Where the socket table is read from.
public enum SocketSource: String, Sendable, CaseIterable {
    /// NETLINK_SOCK_DIAG, falling back to /proc/net when it is unavailable.
    case auto
    /// NETLINK_SOCK_DIAG only: a protocol the kernel cannot dump is an error, or a warning for raw sockets.
    case netlink
    /// The /proc/net/{tcp,tcp6,udp,udp6,raw,raw6} tables.
    case procfs
}

/// A runtime failure of collection: something needed could not be read.
public struct CollectionError: Error, Sendable, CustomStringConvertible {
    /// What could not be read and why, for the error message.
    public var description: String
    /// The caller asked for something the host does not have (a `--netns` that matches nothing): exit 2, not 3.
    public var isUsageError: Bool
    /// Wraps the message, e.g. "cannot open the proc root /proc: ...".
    public init(_ description: String, isUsageError: Bool = false) {
        self.description = description
        self.isUsageError = isUsageError
    }
}

/// Collects the socket inventory from the kernel and /proc.
public struct InventoryCollector {
    /// What `collect` reads, from where.
    public struct Options: Sendable {
        /// Which protocols, families and states to list.
        public var query = SocketQuery()
        /// Where the socket table comes from; `.auto` uses netlink only for the live /proc.
        public var source: SocketSource = .auto
        /// procfs root; anything but "/proc" means a copy from elsewhere,
        /// read through its /proc/net tables.
        public var procRoot = "/proc"
        /// Walk the processes' fd tables to find each socket's owners; false lists sockets without owners.
        public var resolveOwners = true
        /// Threads walking fd tables when owners are resolved.
        public var parallelism = 2
        /// Prefix of etc/passwd and etc/services (user and service names), ending in "/"; "/" for this host.
        public var etcRoot = "/"
        /// Also read /proc/net/packet (AF_PACKET sockets) and their owners.
        public var includePacketSockets = false
        /// Which network namespaces to read; by default every one as root on the live kernel, else our own.
        public var namespaces: NamespaceSelection = .automatic
        /// Where `ip netns` and Docker keep namespace names (`netns/`, `docker/netns/` below it).
        public var runRoot = "/run"
        /// Where container runtimes keep the state that names the containers owners run in; nil names
        /// them only as far as their cgroup paths do (ids, LXC and nspawn names, pod uids).
        public var containerState: ContainerStateRoots? = ContainerStateRoots()
        /// The defaults: listening TCP, UDP and raw sockets of both families from /proc, with owners.
        public init() {}
    }

    /// What the next `collect()` reads; `auditInput` changes it to listening sockets plus packet sockets.
    public var options: Options
    /// The netlink client used for the dumps; replace it to replay recorded kernel replies.
    public var sockDiag: SockDiagClient
    /// The namespaces the last `collect()` found (nil for a copied /proc), for callers that need them too.
    public private(set) var lastDiscovery: NamespaceDiscovery?
    /// Reads the container state once for every `collect` (and `who`) of this collector.
    var containerStateReader: ContainerStateReader?

    /// A collector with these options; `sockDiag` defaults to a real NETLINK_SOCK_DIAG socket per dump.
    public init(options: Options, sockDiag: SockDiagClient = SockDiagClient()) {
        self.options = options
        self.sockDiag = sockDiag
    }

    var isLive: Bool { options.procRoot == "/proc" }

    /// Reads the sockets (netlink or /proc/net), their owners and names, and returns them sorted with
    /// any warnings. Throws when the proc root or a needed socket table cannot be read.
    public mutating func collect() throws(CollectionError) -> Inventory {
        let procfs: ProcFS
        do { procfs = try ProcFS(root: options.procRoot) } catch {
            throw CollectionError("cannot open the proc root \(options.procRoot): \(error)")
        }
        var diagnostics: [Diagnostic] = []
        let plan = try namespacePlan(procfs, &diagnostics)
        lastDiscovery = plan?.discovery
        let table = try readSockets(procfs, plan, &diagnostics)
        let sockets = table.records
        var packets: [PacketSocket] = []
        if options.includePacketSockets {
            switch Result(catching: { () throws(Errno) in try procfs.read("net/packet", sizeHint: 16384) }) {
            case .success(let bytes):
                let parsed = ProcNetParser.parsePacket(bytes, name: "\(options.procRoot)/net/packet")
                packets = parsed.sockets
                diagnostics += parsed.diagnostics
            case .failure(let error):
                diagnostics.append(Diagnostic(.warning, "cannot read \(options.procRoot)/net/packet: \(error); packet sockets not checked"))
            }
        }

        let effectiveUID = Sys.userID()
        var ownersByInode: [UInt64: [SocketOwner]] = [:]
        var someDenied = false
        var walkedAny = false
        var goneInodes: Set<UInt64> = []
        let users = HostFiles.users(etcRoot: options.etcRoot)
        if options.resolveOwners {
            let resolver = OwnerResolver(procfs: procfs, parallelism: options.parallelism)
            var describer = ProcessDescriber(procfs: procfs, users: users, isLive: isLive, containers: containerReader())
            let wanted = Set(sockets.lazy.map(\.inode).filter { $0 != 0 }).union(packets.lazy.map(\.inode))
            do {
                var holders = try resolver.holders(wanted: wanted)
                someDenied = !holders.deniedPIDs.isEmpty
                walkedAny = holders.walkedPIDs > 0 || someDenied
                if someDenied && effectiveUID == 0 {
                    let shown = holders.deniedPIDs.prefix(10).map(String.init).joined(separator: ", ")
                    let more = holders.deniedPIDs.count > 10 ? ", ..." : ""
                    let noun = holders.deniedPIDs.count == 1 ? "process" : "processes"
                    diagnostics.append(
                        Diagnostic(
                            .warning,
                            "could not read the fd table of \(holders.deniedPIDs.count) \(noun) even as root (pid \(shown)\(more))"))
                }
                // Sockets nobody holds: closed meanwhile, opened after their
                // process was walked, or really owner-less. Tell them apart
                // with a second dump and a second walk before explaining; when
                // processes exited during that walk (a host forking and
                // reaping fast), what is still unowned is looked at again,
                // up to three rounds. As root this is done even when some
                // table was refused (a sandbox's pid 1): a socket shown
                // closed is `gone` whatever else was refused.
                var pending = Set(sockets.lazy.map(\.inode).filter { $0 != 0 }).subtracting(holders.byInode.keys)
                var round = 0
                while isLive && !pending.isEmpty && (!someDenied || effectiveUID == 0) && round < 3 {
                    round += 1
                    // Only the namespaces that hold such sockets are read again.
                    var narrowed = plan
                    if let selection = plan?.selection {
                        let holding = Set(sockets.lazy.filter { pending.contains($0.inode) }.map(\.netns))
                        narrowed?.selection.read = selection.read.filter { holding.contains($0.namespace.inode) }
                    }
                    // Only what the second read did reach is judged gone: a
                    // dump that failed (ENOBUFS, interrupted to the end) or a
                    // namespace it could not read proves nothing closed.
                    guard let again = try? readSockets(procfs, narrowed, &diagnostics, quiet: true) else { break }
                    let stillThere = Set(again.records.lazy.map(\.inode)).intersection(pending)
                    let reread = Set(
                        sockets.lazy.filter { pending.contains($0.inode) && (plan == nil || again.namespaces.contains($0.netns)) }
                            .map(\.inode))
                    goneInodes.formUnion(reread.subtracting(stillThere))
                    guard !stillThere.isEmpty, let second = try? resolver.holders(wanted: stillThere) else { break }
                    holders.byInode.merge(second.byInode) { $0 + $1 }
                    pending = stillThere.subtracting(second.byInode.keys)
                    if second.vanishedPIDs == 0 { break }
                }
                ownersByInode = describer.owners(of: holders)
                // A socket whose every holder exited between the fd walk and
                // its description: its holder is gone, and it is no kernel socket.
                for (inode, owners) in ownersByInode where owners.isEmpty {
                    ownersByInode[inode] = nil
                    goneInodes.insert(inode)
                }
            } catch {
                diagnostics.append(Diagnostic(.warning, "cannot list processes in \(options.procRoot): \(error); owners not shown"))
            }
            diagnostics += containerStateReader?.takeDiagnostics() ?? []
        }
        if options.resolveOwners && isLive && effectiveUID != 0,
            let hidden = (try? procfs.read("self/mountinfo", sizeHint: 16384)).flatMap({
                ProcessFiles.hidePID(mountinfo: $0, mountPoint: options.procRoot)
            })
        {
            diagnostics.append(
                Diagnostic(
                    .warning,
                    "\(options.procRoot) is mounted with hidepid=\(hidden): other users' processes are invisible, so their sockets cannot be attributed; run as root or as a member of the mount's gid= group"
                ))
        }
        let inChildPIDNamespace = isLive && procfs.ownNamespace("pid").map { $0 != Self.initialPIDNamespace } ?? false
        let context = InventoryBuilder.OwnerContext(
            ownersByInode: ownersByInode, collected: options.resolveOwners && (walkedAny || isLive), someDenied: someDenied,
            effectiveUID: effectiveUID, inChildPIDNamespace: inChildPIDNamespace, goneInodes: goneInodes)
        let services = HostFiles.services(etcRoot: options.etcRoot)
        var builder = InventoryBuilder(
            users: users,
            ephemeralRange: (try? procfs.read("sys/net/ipv4/ip_local_port_range")).flatMap(ProcessFiles.parsePortRange),
            serviceName: { port, proto in services.name(port: port, proto: proto) })
        builder.namespaces = Self.namedByContainers(plan, ownersByInode: ownersByInode, sockets: sockets)
        var entries = builder.entries(for: sockets, owners: context)
        var namespacesRead: [NetworkNamespace] = []
        if let plan {
            entries = try Self.keepSelected(entries, plan.selection)
            namespacesRead = table.namespaces.compactMap { builder.namespaces[$0] }.sorted()
        }
        InventoryBuilder.sort(&entries)
        var inventory = Inventory(
            entries: entries, diagnostics: diagnostics, source: table.source,
            packetSockets: packets.map { builder.packetEntry(for: $0, owners: context) })
        inventory.namespacesRead = namespacesRead
        return inventory
    }

    /// The reader of the container state, made on first use.
    mutating func containerReader() -> ContainerStateReader? {
        if containerStateReader == nil, let roots = options.containerState {
            containerStateReader = ContainerStateReader(roots: roots, etcRoot: options.etcRoot)
        }
        return containerStateReader
    }

    /// PROC_PID_INIT_INO: the inode of the initial PID namespace.
    static let initialPIDNamespace: UInt64 = 0xEFFF_FFFC

    struct Table {
        var records: [SocketRecord]
        var source: String
        /// The namespaces whose tables were read.
        var namespaces: Set<UInt64> = []
    }

    /// The namespaces to read: nil for a copied /proc (only its own tables exist).
    struct NamespacePlan {
        var discovery: NamespaceDiscovery
        var selection: NamespaceDiscovery.Selection
    }

    func namespacePlan(_ procfs: ProcFS, _ diagnostics: inout [Diagnostic]) throws(CollectionError) -> NamespacePlan? {
        guard isLive else {
            if case .only(let selectors) = options.namespaces, !selectors.isEmpty {
                throw CollectionError(
                    "--netns reads the live kernel's namespaces; a copied /proc has only its own tables", isUsageError: true)
            }
            return nil
        }
        let discovery = NamespaceDiscovery.discover(procfs: procfs, runRoot: options.runRoot)
        diagnostics += discovery.diagnostics
        let selection = discovery.select(options.namespaces, sweep: Sys.userID() == 0)
        if case .only = options.namespaces, !selection.unmatched.contains(where: { if case .name = $0 { true } else { false } }),
            let missing = selection.unmatched.first
        {
            throw Self.noSuchNamespace(missing, discovery)
        }
        return NamespacePlan(discovery: discovery, selection: selection)
    }

    static func noSuchNamespace(_ selector: NamespaceSelector, _ discovery: NamespaceDiscovery) -> CollectionError {
        let known = discovery.found.map { "\($0.namespace.label) (\($0.namespace.inode))" }.joined(separator: ", ")
        return CollectionError(
            "--netns \(selector): no network namespace, process or container matches it; found: \(known)", isUsageError: true)
    }

    /// Every selected namespace's sockets, each record tagged with its namespace.
    func readSockets(_ procfs: ProcFS, _ plan: NamespacePlan?, _ diagnostics: inout [Diagnostic], quiet: Bool = false)
        throws(CollectionError) -> Table
    {
        guard let plan else { return try ownTable(procfs, &diagnostics, quiet: quiet) }
        let own = plan.discovery.own
        var records: [SocketRecord] = []
        var sources: Set<String> = []
        var readInodes: Set<UInt64> = []
        let others = plan.selection.read.filter { $0.namespace.inode != own }
        if plan.selection.read.contains(where: { $0.namespace.inode == own }) || own == 0 {
            var table = try ownTable(procfs, &diagnostics, quiet: quiet)
            for i in table.records.indices { table.records[i].netns = own }
            records = table.records
            sources.insert(table.source)
            readInodes.insert(own)
        }
        // Each other namespace: a netlink socket made inside it (on a
        // thread of its own), then dumped from here; /proc/PID/net where that fails.
        // --source procfs reads every namespace through a process inside it.
        let paths = others.map { $0.entryPath(procRoot: options.procRoot) }
        let sockets: [Result<Int32, Errno>] =
            others.isEmpty || options.source == .procfs
            ? others.map { _ in .failure(Errno.notPermitted) } : Sys.netlinkSockets(protocol: 4, inNamespaces: paths)
        for (found, socket) in zip(others, sockets) {
            var netlinkError: String
            switch socket {
            case .failure where options.source == .procfs:
                netlinkError = "--source procfs"
            case .success(let fd):
                var client = SockDiagClient(adopting: fd)
                client.maxAttempts = sockDiag.maxAttempts
                do throws(SockDiagError) {
                    var dumped: [SocketRecord] = []
                    for proto in TransportProtocol.allCases where options.query.protocols.contains(proto) {
                        for family in AddressFamily.allCases where options.query.families.contains(family) {
                            do throws(SockDiagError) {
                                dumped += try client.dump(proto: proto, family: family, states: options.query.stateMask(for: proto))
                            } catch  where error.code == .kernel && error.underlying == .noSuchFile {
                                continue  // raw_diag not loaded: as in the host's namespace
                            }
                        }
                    }
                    for i in dumped.indices { dumped[i].netns = found.namespace.inode }
                    records += dumped
                    sources.insert("netlink")
                    readInodes.insert(found.namespace.inode)
                    continue
                } catch {
                    netlinkError = error.description
                }
            case .failure(let error):
                netlinkError = "cannot enter it: \(error)"
            }
            // The fallback: a process's view of its namespace's tables.
            var fellBack = false
            for pid in options.source == .netlink ? [] : Array(found.pids.prefix(3)) {
                var dumped: [SocketRecord] = []
                var scratch: [Diagnostic] = []
                do throws(CollectionError) {
                    for proto in TransportProtocol.allCases where options.query.protocols.contains(proto) {
                        for family in AddressFamily.allCases where options.query.families.contains(family) {
                            dumped += try procTable(procfs, proto: proto, family: family, &scratch, prefix: "\(pid)/")
                        }
                    }
                } catch { continue }
                for i in dumped.indices { dumped[i].netns = found.namespace.inode }
                records += dumped
                sources.insert("procfs")
                readInodes.insert(found.namespace.inode)
                fellBack = true
                if !quiet && options.source != .procfs {
                    diagnostics.append(
                        Diagnostic(
                            .notice,
                            "network namespace \(found.namespace.label): \(netlinkError); read \(options.procRoot)/\(pid)/net instead"))
                }
                break
            }
            if !fellBack && !quiet {
                diagnostics.append(
                    Diagnostic(
                        .warning,
                        "network namespace \(found.namespace.label) (\(found.namespace.inode)): \(netlinkError); its sockets are not listed"
                    ))
            }
        }
        let source = sources.count <= 1 ? (sources.first ?? "netlink") : "netlink+procfs"
        return Table(records: records, source: source, namespaces: readInodes)
    }

    /// Namespaces by inode for the entries: a nameless one takes the name
    /// of the container whose processes hold its sockets.
    static func namedByContainers(_ plan: NamespacePlan?, ownersByInode: [UInt64: [SocketOwner]], sockets: [SocketRecord])
        -> [UInt64: NetworkNamespace]
    {
        guard let plan else { return [:] }
        var namespaces: [UInt64: NetworkNamespace] = [:]
        for found in plan.discovery.found { namespaces[found.namespace.inode] = found.namespace }
        for socket in sockets where namespaces[socket.netns]?.name == nil {
            guard let container = ownersByInode[socket.inode]?.lazy.compactMap(\.containerReference).first else { continue }
            namespaces[socket.netns]?.name = container.displayName
        }
        return namespaces
    }

    /// With `--netns NAME` naming a container rather than a namespace:
    /// only the sockets of the namespaces matched, plus those whose owners
    /// run in that container. A selector matching nothing is an error.
    static func keepSelected(_ entries: [InventoryEntry], _ selection: NamespaceDiscovery.Selection) throws(CollectionError)
        -> [InventoryEntry]
    {
        guard !selection.unmatched.isEmpty else { return entries }
        var containerNamespaces = selection.matched
        for selector in selection.unmatched {
            let hits = Set(
                entries.lazy.filter { entry in
                    guard let namespace = entry.namespace else { return false }
                    let containers = entry.owners.compactMap(\.containerReference).flatMap { [$0.id, $0.name].compactMap { $0 } }
                    return selector.matches(namespace, pids: [], containers: containers)
                }.compactMap { $0.namespace?.inode })
            if hits.isEmpty {
                let known = Set(entries.compactMap(\.namespace)).sorted().map { "\($0.label) (\($0.inode))" }.joined(separator: ", ")
                throw CollectionError(
                    "--netns \(selector): no network namespace, process or container matches it; found: \(known)", isUsageError: true)
            }
            containerNamespaces.formUnion(hits)
        }
        return entries.filter { containerNamespaces.contains($0.namespace?.inode ?? 0) }
    }

    /// portcullis's own namespace: netlink, or /proc/net, as `options.source` says.
    func ownTable(_ procfs: ProcFS, _ diagnostics: inout [Diagnostic], quiet: Bool = false) throws(CollectionError) -> Table {
        let useNetlink: Bool
        switch options.source {
        case .auto: useNetlink = isLive
        case .netlink: useNetlink = true
        case .procfs: useNetlink = false
        }
        if useNetlink {
            var client = sockDiag
            var records: [SocketRecord] = []
            var fellBack: [TransportProtocol] = []
            for proto in TransportProtocol.allCases where options.query.protocols.contains(proto) {
                for family in AddressFamily.allCases where options.query.families.contains(family) {
                    do {
                        records += try client.dump(proto: proto, family: family, states: options.query.stateMask(for: proto))
                    } catch {
                        // raw_diag is a module some kernels lack (ENOENT);
                        // only an explicit --source netlink makes that fatal.
                        let missingModule = error.code == .kernel && error.underlying == .noSuchFile
                        // A table that kept changing (NLM_F_DUMP_INTR) or whose
                        // replies the kernel kept dropping (ENOBUFS) on every
                        // try: /proc/net lists it anyway, never an empty table.
                        let unsettled = error.code == .interrupted || error.code == .overrun
                        if options.source == .auto && (missingModule || unsettled || error.code == .socket) {
                            // raw_diag is often simply not loaded: no need to say so.
                            if !quiet && !(proto == .raw && missingModule) {
                                diagnostics.append(Diagnostic(.notice, "\(error); read /proc/net instead"))
                            }
                            records += try procTable(procfs, proto: proto, family: family, &diagnostics)
                            fellBack.append(proto)
                        } else if proto == .raw && missingModule {
                            // --source netlink was asked for explicitly: say what is missing, keep the rest.
                            if !quiet {
                                diagnostics.append(
                                    Diagnostic(
                                        .warning,
                                        "\(error): the raw_diag module is not loaded, so raw sockets are not listed (--source auto reads them from /proc/net)"
                                    ))
                            }
                        } else {
                            throw CollectionError(error.description)
                        }
                    }
                }
            }
            return Table(records: records, source: fellBack.isEmpty ? "netlink" : "netlink+procfs")
        }
        var records: [SocketRecord] = []
        for proto in TransportProtocol.allCases where options.query.protocols.contains(proto) {
            for family in AddressFamily.allCases where options.query.families.contains(family) {
                records += try procTable(procfs, proto: proto, family: family, &diagnostics)
            }
        }
        return Table(records: records, source: "procfs")
    }

    /// One /proc/net table, state-filtered here since the file has every state.
    func procTable(
        _ procfs: ProcFS, proto: TransportProtocol, family: AddressFamily, _ diagnostics: inout [Diagnostic], prefix: String = ""
    ) throws(CollectionError) -> [SocketRecord] {
        let name = prefix + "net/" + proto.rawValue + (family == .ipv6 ? "6" : "")
        let parsed: ProcNetParser.Result
        do { parsed = try procfs.socketTable(proto, family, prefix: prefix) } catch {
            if error == .noSuchFile && family == .ipv6 {
                diagnostics.append(Diagnostic(.notice, "\(options.procRoot)/\(name) is missing: IPv6 is disabled or not built in"))
                return []
            }
            throw CollectionError("cannot read \(options.procRoot)/\(name): \(error)")
        }
        diagnostics += parsed.diagnostics
        let mask = options.query.stateMask(for: proto)
        return parsed.records.filter { mask & (1 << UInt32($0.stateCode)) != 0 }
    }
}

/// Host files portcullis reads itself (static glibc cannot use NSS).
public enum HostFiles {
    /// uid → user name from `etcRoot`/etc/passwd (first entry wins); empty when it cannot be read.
    public static func users(etcRoot: String) -> [UInt32: String] {
        guard let bytes = try? readFile(etcRoot + "etc/passwd") else { return [:] }
        return ProcessFiles.parsePasswd(bytes)
    }

    /// Port names from `etcRoot`/etc/services, filled in from usr/share/nmap/nmap-services when present;
    /// either may be missing.
    public static func services(etcRoot: String) -> ServiceTable {
        let etc = (try? readFile(etcRoot + "etc/services")) ?? []
        let nmap = try? readFile(etcRoot + "usr/share/nmap/nmap-services")
        return ServiceTable(etcServices: etc, nmapServices: nmap)
    }

    /// net.ipv4.ip_local_port_range of the host whose procfs is at `procRoot`.
    public static func ephemeralRange(procRoot: String) -> ClosedRange<UInt16>? {
        (try? readFile(procRoot + "/sys/net/ipv4/ip_local_port_range")).flatMap(ProcessFiles.parsePortRange)
    }

    /// The name of the host whose procfs is at `procRoot`, from its kernel (no NSS).
    public static func hostname(procRoot: String = "/proc") -> String? {
        (try? readFile(procRoot + "/sys/kernel/hostname")).map { String(decoding: $0, as: UTF8.self).trimmingWhitespace }
    }

    /// Creates a new file (mode 0644); never overwrites what the user stored.
    public static func createFile(_ path: String, contents: [UInt8]) throws(Errno) {
        let fd = try Sys.createExclusive(path, mode: 0o644)
        defer { Sys.close(fd) }
        try Sys.writeFully(fd, contents)
    }

    /// Writes a file whole: written beside it under a temporary name and
    /// renamed over it, so a reader (or a crash) never sees half a file and
    /// the old contents survive until the new ones are complete.
    public static func replaceFile(_ path: String, contents: [UInt8]) throws(Errno) {
        let temporary = path + ".portcullis-\(Sys.processID()).tmp"
        do {
            try createFile(temporary, contents: contents)
            try Sys.rename(temporary, path)
        } catch {
            Sys.unlink(temporary)
            throw error
        }
    }

    /// Whether `path` names something now (following symlinks); false for any error, denial included.
    public static func exists(_ path: String) -> Bool {
        (try? Sys.statAt(Sys.currentDirectory, Array(path.utf8), follow: true)) != nil
    }

    /// Reads a regular file by absolute path.
    public static func readFile(_ path: String) throws(Errno) -> [UInt8] {
        let fd = try Sys.openAt(Sys.currentDirectory, path)
        defer { Sys.close(fd) }
        return try Sys.readAll(fd, sizeHint: 65536)
    }
}
