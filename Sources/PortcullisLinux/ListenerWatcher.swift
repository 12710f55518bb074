import PortcullisCore

/// Polls the kernel's listening sockets for `watch`, cheaply: one netlink
/// dump per protocol and family with the state filter applied in the
/// kernel, owners looked up only for sockets that are new since the last
/// poll, and for the sockets of holders that exited or ran another program
/// (checked by reading each holder's `exe` link). Everything else comes from
/// the cache, by inode; the owner walk itself reads only the fd tables of
/// processes that ran since the previous walk (`SocketTableCache`).
public final class ListenerWatcher {
    /// Where the watcher reads from, and how hard it works.
    public struct Options: Sendable {
        /// The procfs to read the fd tables and /proc/net from; the sockets themselves come from this host's netlink.
        public var procRoot = "/proc"
        /// Prefix of etc/passwd and etc/services (user and service names), ending in "/"; "/" for this host.
        public var etcRoot = "/"
        /// Threads walking fd tables when owners are looked up.
        public var parallelism = 2
        /// Protocols whose listeners are watched.
        public var protocols = Set(TransportProtocol.allCases)
        /// Address families whose listeners are watched.
        public var families = Set(AddressFamily.allCases)
        /// Where container runtimes keep the state that names owners' containers, read afresh at each
        /// poll that looks up owners (containers come and go); nil names them from cgroup paths only.
        public var containerState: ContainerStateRoots? = ContainerStateRoots()
        /// Which network namespaces are watched; by default every one as root on the live kernel,
        /// found afresh at each poll (containers come and go), else portcullis's own.
        public var namespaces: NamespaceSelection = .automatic
        /// Where `ip netns` and Docker keep namespace names.
        public var runRoot = "/run"
        /// The defaults: /proc and /, 2 threads, every protocol and family.
        public init() {}
    }

    /// One reusable NETLINK_SOCK_DIAG socket, replaced after any error.
    final class TransportCache {
        var socket: SockDiagSocket?
    }

    let options: Options
    let procfs: ProcFS
    let transport = TransportCache()
    var client: SockDiagClient
    var builder: InventoryBuilder
    let resolver: OwnerResolver
    /// Fd tables of processes that have not run since they were read.
    let socketTables = SocketTableCache()
    let users: [UInt32: String]
    let effectiveUID: UInt32
    let inChildPIDNamespace: Bool
    /// Protocols/families read from /proc/net because netlink lacks them (raw_diag).
    var fromProcNet = Set<String>()

    /// Listening sockets by inode, with owners.
    var entries: [UInt64: InventoryEntry] = [:]
    /// Inodes per listener key.
    var byKey: [ListenerKey: [UInt64]] = [:]
    /// Inodes each holder holds, and the `exe` link it had then.
    var holdings: [Int32: Set<UInt64>] = [:]
    var fingerprints: [Int32: [UInt8]] = [:]
    /// Warnings and notices since the last `takeDiagnostics()`.
    var diagnostics: [Diagnostic] = []
    /// Container-state notices given already: each is said once per watch, not once per poll.
    var containerNotices: Set<String> = []
    var lastWalkDenied = false
    /// The digest of the tables at the last poll that decoded them.
    var lastDigest: SockDiagWire.InodeDigest?
    /// A sock_diag client per other network namespace watched, each on a
    /// socket made inside it; closed when the namespace is no longer found
    /// (an open socket would keep a dead container's namespace alive).
    var namespaceClients: [UInt64: SockDiagClient] = [:]
    /// Namespaces that could not be entered, said once each.
    var namespaceFailures: Set<UInt64> = []
    /// Processes' namespaces between polls: each settled process's link is read once, not every poll.
    let processNamespaces = NamespaceDiscovery.ProcessNamespaces()
    /// This process's own network namespace.
    let ownNamespace: UInt64

    /// Opens the procfs and reads the user and service names once; the first poll is `start()`.
    /// Throws when the proc root cannot be opened.
    public init(options: Options = Options()) throws(CollectionError) {
        self.options = options
        do { procfs = try ProcFS(root: options.procRoot) } catch {
            throw CollectionError("cannot open the proc root \(options.procRoot): \(error)")
        }
        let cache = transport
        client = SockDiagClient(transport: { () throws(Errno) in
            if let socket = cache.socket { return socket }
            let socket = try SockDiagSocket()
            cache.socket = socket
            return socket
        })
        users = HostFiles.users(etcRoot: options.etcRoot)
        let services = HostFiles.services(etcRoot: options.etcRoot)
        builder = InventoryBuilder(
            users: users, ephemeralRange: HostFiles.ephemeralRange(procRoot: options.procRoot),
            serviceName: { port, proto in services.name(port: port, proto: proto) })
        resolver = OwnerResolver(procfs: procfs, parallelism: options.parallelism)
        effectiveUID = Sys.userID()
        inChildPIDNamespace = procfs.ownNamespace("pid").map { $0 != InventoryCollector.initialPIDNamespace } ?? false
        ownNamespace = options.procRoot == "/proc" ? (procfs.ownNamespace("net") ?? 0) : 0
        if case .only(let selectors) = options.namespaces, !selectors.isEmpty {
            guard options.procRoot == "/proc" else {
                throw CollectionError(
                    "--netns reads the live kernel's namespaces; a copied /proc has only its own tables", isUsageError: true)
            }
            let discovery = NamespaceDiscovery.discover(procfs: procfs, runRoot: options.runRoot)
            if let missing = discovery.select(options.namespaces, sweep: true).unmatched.first {
                throw InventoryCollector.noSuchNamespace(missing, discovery)
            }
        }
    }

    /// Distinct listeners (protocol, family, address, port) known after the last poll.
    public var listenerCount: Int { byKey.count }
    /// Listening sockets known after the last poll; several can share one listener (SO_REUSEPORT).
    public var socketCount: Int { entries.count }

    /// Every listener known after the last poll, with its sockets and owners.
    public var listeners: [ListenerKey: ListenerView] {
        var all: [ListenerKey: ListenerView] = [:]
        for key in byKey.keys { all[key] = view(key) }
        return all
    }

    /// Warnings and notices gathered since the previous call, oldest first; the list is emptied.
    public func takeDiagnostics() -> [Diagnostic] {
        defer { diagnostics.removeAll() }
        return diagnostics
    }

    /// The first poll: learns every listener and its owners; no events.
    @discardableResult
    public func start() throws(CollectionError) -> Int {
        _ = try poll(time: 0)
        return byKey.count
    }

    /// Every table as read by one poll: netlink dumps kept undecoded, /proc/net
    /// tables (raw sockets, where raw_diag is not loaded) parsed, and the
    /// digest of all their inodes.
    struct Capture {
        var digest = SockDiagWire.InodeDigest()
        /// Each dump with the namespace it was taken in.
        var dumps: [(dump: SockDiagClient.CapturedDump, netns: UInt64)] = []
        var parsed: [SocketRecord] = []
        /// The namespaces read, by inode.
        var namespaces: [UInt64: NetworkNamespace] = [:]

        func records() throws(CollectionError) -> [SocketRecord] {
            var records = parsed
            records.reserveCapacity(digest.count)
            for (dump, netns) in dumps {
                do {
                    var decoded = try dump.records()
                    for i in decoded.indices { decoded[i].netns = netns }
                    records += decoded
                } catch {
                    throw CollectionError("sock_diag dump of \(dump.proto.rawValue): \(error)")
                }
            }
            return records
        }
    }

    /// Every listening socket now, digested without decoding: netlink
    /// dumps, or /proc/net where netlink lacks a protocol (raw sockets,
    /// where raw_diag is not loaded).
    func capture() throws(CollectionError) -> Capture {
        var capture = Capture()
        let query = SocketQuery(protocols: options.protocols, families: options.families, listeningOnly: true)
        for proto in TransportProtocol.allCases where options.protocols.contains(proto) {
            for family in AddressFamily.allCases where options.families.contains(family) {
                let mask = query.stateMask(for: proto)
                let name = proto.rawValue + (family == .ipv6 ? "6" : "")
                if !fromProcNet.contains(name) {
                    do {
                        let dump = try client.capture(proto: proto, family: family, states: mask)
                        capture.digest.merge(dump.digest)
                        capture.dumps.append((dump, ownNamespace))
                        continue
                    } catch {
                        transport.socket = nil
                        let missingModule = error.code == .kernel && error.underlying == .noSuchFile
                        guard missingModule || error.code == .socket else { throw CollectionError(error.description) }
                        fromProcNet.insert(name)
                        if !(proto == .raw && missingModule) {
                            diagnostics.append(Diagnostic(.notice, "\(error); reading /proc/net/\(name) instead"))
                        }
                    }
                }
                do {
                    for var record in try procfs.socketTable(proto, family).records where mask & (1 << UInt32(record.stateCode)) != 0 {
                        record.netns = ownNamespace
                        capture.digest.add(record.inode)
                        capture.parsed.append(record)
                    }
                } catch {
                    if !(error == .noSuchFile && family == .ipv6) {
                        throw CollectionError("cannot read \(options.procRoot)/net/\(name): \(error)")
                    }
                }
            }
        }
        try captureOtherNamespaces(into: &capture, query: query)
        return capture
    }

    /// The other namespaces' listening sockets, found afresh: new
    /// namespaces get a socket made inside them, gone ones are closed.
    func captureOtherNamespaces(into capture: inout Capture, query: SocketQuery) throws(CollectionError) {
        guard options.procRoot == "/proc" else { return }
        if case .own = options.namespaces { return }
        let discovery = NamespaceDiscovery.discover(procfs: procfs, runRoot: options.runRoot, cache: processNamespaces)
        let selection = discovery.select(options.namespaces, sweep: effectiveUID == 0)
        for found in discovery.found { capture.namespaces[found.namespace.inode] = found.namespace }
        let others = selection.read.filter { $0.namespace.inode != ownNamespace && $0.namespace.inode != 0 }
        let present = Set(others.map(\.namespace.inode))
        namespaceClients = namespaceClients.filter { present.contains($0.key) }
        let fresh = others.filter { namespaceClients[$0.namespace.inode] == nil && !namespaceFailures.contains($0.namespace.inode) }
        let paths = fresh.map { $0.entryPath(procRoot: options.procRoot) }
        for (found, socket) in zip(fresh, fresh.isEmpty ? [] : Sys.netlinkSockets(protocol: 4, inNamespaces: paths)) {
            switch socket {
            case .success(let fd):
                namespaceClients[found.namespace.inode] = SockDiagClient(adopting: fd)
            case .failure(let error):
                namespaceFailures.insert(found.namespace.inode)
                diagnostics.append(
                    Diagnostic(
                        .warning, "network namespace \(found.namespace.label): cannot enter it: \(error); its listeners are not watched"))
            }
        }
        for found in others {
            let inode = found.namespace.inode
            guard var namespaceClient = namespaceClients[inode] else { continue }
            do throws(SockDiagError) {
                for proto in TransportProtocol.allCases where options.protocols.contains(proto) {
                    for family in AddressFamily.allCases where options.families.contains(family) {
                        do throws(SockDiagError) {
                            let dump = try namespaceClient.capture(proto: proto, family: family, states: query.stateMask(for: proto))
                            capture.digest.merge(dump.digest)
                            capture.dumps.append((dump, inode))
                        } catch  where error.code == .kernel && error.underlying == .noSuchFile {
                            continue  // raw_diag not loaded
                        }
                    }
                }
                namespaceClients[inode] = namespaceClient
            } catch {
                // The namespace may have just gone: try again next poll with a new socket.
                namespaceClients[inode] = nil
                diagnostics.append(Diagnostic(.notice, "network namespace \(found.namespace.label): \(error)"))
            }
        }
    }

    /// Holders that exited or now run another program: what they held is looked at again.
    func changedHolders() -> Set<UInt64> {
        var recheck = Set<UInt64>()
        for (pid, inodes) in holdings {
            let link = exeLink(pid)
            if link == nil || link != fingerprints[pid] { recheck.formUnion(inodes) }
        }
        return recheck
    }

    /// One poll: the events since the previous one. When the tables hold
    /// the same sockets as before (same digest) and no holder changed, this
    /// costs one netlink dump per table, scanned for inodes only; otherwise
    /// the same dumps are decoded.
    public func poll(time: Int64) throws(CollectionError) -> [WatchEvent] {
        let captured = try capture()
        let changed = changedHolders()
        if captured.digest == lastDigest, changed.isEmpty { return [] }
        let records = try captured.records()
        lastDigest = captured.digest
        var current: [UInt64: SocketRecord] = [:]
        current.reserveCapacity(records.count)
        for record in records { current[record.inode] = record }

        let added = current.keys.filter { !entries.keys.contains($0) }
        let removed = entries.keys.filter { current[$0] == nil }
        let recheck = changed.filter { current[$0] != nil && entries.keys.contains($0) }
        if added.isEmpty && removed.isEmpty && recheck.isEmpty { return [] }
        builder.namespaces = captured.namespaces

        // Owners of the new and rechecked sockets, in one walk.
        let wanted = Set(added).union(recheck)
        var ownersByInode: [UInt64: [SocketOwner]] = [:]
        var denied = false
        if !wanted.isEmpty {
            do {
                let holders = try resolver.holders(wanted: wanted, cache: socketTables)
                denied = !holders.deniedPIDs.isEmpty
                let containers = options.containerState.map { ContainerStateReader(roots: $0, etcRoot: options.etcRoot) }
                var describer = ProcessDescriber(procfs: procfs, users: users, isLive: options.procRoot == "/proc", containers: containers)
                ownersByInode = describer.owners(of: holders)
                for notice in containers?.takeDiagnostics() ?? [] where containerNotices.insert(notice.message).inserted {
                    diagnostics.append(notice)
                }
            } catch {
                diagnostics.append(Diagnostic(.warning, "cannot list processes in \(options.procRoot): \(error); owners not shown"))
            }
            if denied && !lastWalkDenied && effectiveUID == 0 {
                diagnostics.append(
                    Diagnostic(.warning, "some fd tables could not be read even as root; their sockets are shown without owners"))
            }
            lastWalkDenied = denied
        }
        let context = InventoryBuilder.OwnerContext(
            ownersByInode: ownersByInode, collected: true, someDenied: denied, effectiveUID: effectiveUID,
            inChildPIDNamespace: inChildPIDNamespace)

        // A listener's key needs its owners (outside the host's namespace it
        // is scoped by container), so new sockets are described before the
        // views as they were are taken.
        var newEntries: [UInt64: InventoryEntry] = [:]
        for inode in added { if let record = current[inode] { newEntries[inode] = builder.entry(for: record, owners: context) } }
        var touched = Set<ListenerKey>()
        for entry in newEntries.values { touched.insert(ListenerKey(entry)) }
        for inode in removed { if let e = entries[inode] { touched.insert(ListenerKey(e)) } }
        for inode in recheck { if let e = entries[inode] { touched.insert(ListenerKey(e)) } }
        var before: [ListenerKey: ListenerView] = [:]
        for key in touched { before[key] = view(key) }

        for inode in removed {
            guard let entry = entries.removeValue(forKey: inode) else { continue }
            forget(inode, owners: entry.owners)
            let key = ListenerKey(entry)
            byKey[key]?.removeAll { $0 == inode }
            if byKey[key]?.isEmpty == true { byKey[key] = nil }
        }
        for inode in recheck {
            guard var entry = entries[inode] else { continue }
            forget(inode, owners: entry.owners)
            let fresh = builder.entry(for: entry.socket, owners: context)
            // No holder found: the socket is closing with its process (it
            // will be gone from the next dump), or went to a process we
            // cannot read. Keep the owners last seen, but stop checking them.
            guard !fresh.owners.isEmpty || entry.owners.isEmpty else { continue }
            entry.owners = fresh.owners
            entry.unownedReason = fresh.unownedReason
            entries[inode] = entry
            remember(inode, owners: entry.owners)
        }
        for (inode, entry) in newEntries {
            entries[inode] = entry
            byKey[ListenerKey(entry), default: []].append(inode)
            remember(inode, owners: entry.owners)
        }
        return touched.sorted().flatMap { key in WatchEvents.events(before: before[key], after: view(key), time: time) }
    }

    /// The `exe` link of a process ([] when unreadable), nil when it is gone.
    func exeLink(_ pid: Int32) -> [UInt8]? {
        do { return try procfs.readLink("\(pid)/exe") } catch {
            return error.meansGone ? nil : []
        }
    }

    func view(_ key: ListenerKey) -> ListenerView? {
        guard let inodes = byKey[key], !inodes.isEmpty else { return nil }
        return ListenerView(key: key, sockets: inodes.compactMap { entries[$0] })
    }

    func remember(_ inode: UInt64, owners: [SocketOwner]) {
        for owner in owners {
            holdings[owner.pid, default: []].insert(inode)
            if fingerprints[owner.pid] == nil {
                fingerprints[owner.pid] = exeLink(owner.pid) ?? []
            }
        }
    }

    func forget(_ inode: UInt64, owners: [SocketOwner]) {
        for owner in owners {
            holdings[owner.pid]?.remove(inode)
            if holdings[owner.pid]?.isEmpty == true {
                holdings[owner.pid] = nil
                fingerprints[owner.pid] = nil
            }
        }
    }
}
