import PortcullisCore

/// Every network namespace on the host, found four ways: the processes'
/// `/proc/PID/ns/net` links (deduplicated by inode), the names `ip netns`
/// keeps in /run/netns, Docker's sandboxes in /run/docker/netns, and nsfs
/// bind mounts anywhere (namespaces no process holds).
public struct NamespaceDiscovery: Sendable {
    /// One namespace and how to enter it.
    public struct Found: Sendable, Hashable {
        /// The namespace, named where a name is known.
        public var namespace: NetworkNamespace
        /// An nsfs bind mount of it (absolute path), if there is one.
        public var mountPath: String?
        /// The processes in it, ascending (those whose link could be read).
        public var pids: [Int32]

        /// What to open to enter it: its bind mount, else a process's `ns/net`.
        public func entryPath(procRoot: String) -> String { mountPath ?? "\(procRoot)/\(pids.first ?? 0)/ns/net" }
    }

    /// The namespaces, the host's first.
    public var found: [Found]
    /// portcullis's own namespace (0 when it cannot be read).
    public var own: UInt64
    /// What could not be read.
    public var diagnostics: [Diagnostic] = []

    /// The namespace with this inode, if found.
    public func namespace(inode: UInt64) -> Found? { found.first { $0.namespace.inode == inode } }

    /// Each process's namespace as last read, for a caller that discovers
    /// again and again (`watch`, every poll): a pid seen with the same
    /// namespace on two discoveries in a row is not read again while it
    /// lives. Two, because a new process may still be about to change its
    /// namespace (`ip netns exec` forks, then enters it, then runs the program).
    /// A settled process that later enters another namespace is not noticed
    /// (its new namespace still is, through any other process or mount in it).
    public final class ProcessNamespaces {
        var byPID: [Int32: (inode: UInt64, settled: Bool)] = [:]
        /// An empty cache.
        public init() {}
    }

    /// Looks everywhere. `runRoot` is /run (tests pass a directory of their own).
    public static func discover(procfs: ProcFS, runRoot: String = "/run", cache: ProcessNamespaces? = nil) -> NamespaceDiscovery {
        var diagnostics: [Diagnostic] = []
        let own = procfs.ownNamespace("net") ?? 0
        // The host's namespace is pid 1's. Where pid 1's link cannot be read
        // (a sandbox whose init is shielded even from root), kthreadd's (pid 2,
        // a kernel thread, always in the initial namespaces), else portcullis's own.
        func namespace(of pid: Int32) -> UInt64? {
            (try? procfs.readLink("\(pid)/ns/net")).flatMap { ProcessFiles.namespaceInode(link: $0[...], kind: "net") }
        }
        let kthreadd = (try? procfs.read("2/comm")).map { String(decoding: $0, as: UTF8.self) == "kthreadd\n" } ?? false
        let host = namespace(of: 1) ?? (kthreadd ? namespace(of: 2) : nil) ?? own

        var pidsByInode: [UInt64: [Int32]] = [:]
        do {
            let listed = try procfs.listedPIDs()
            var seen: [Int32: (inode: UInt64, settled: Bool)] = [:]
            seen.reserveCapacity(listed.count)
            for pid in listed {
                if let known = cache?.byPID[pid], known.settled {
                    seen[pid] = known
                    pidsByInode[known.inode, default: []].append(pid)
                    continue
                }
                // A process that exited or a kernel thread shielded from us: skipped, as ip netns identify does.
                guard let link = try? procfs.readLink("\(pid)/ns/net"),
                    let inode = ProcessFiles.namespaceInode(link: link[...], kind: "net")
                else { continue }
                seen[pid] = (inode, cache?.byPID[pid]?.inode == inode)
                pidsByInode[inode, default: []].append(pid)
            }
            // Exited processes leave the cache (a reused pid is read afresh).
            cache?.byPID = seen
        } catch {
            diagnostics.append(
                Diagnostic(.warning, "cannot list the processes in \(procfs.root): \(error); namespaces held only by processes are missed"))
        }

        // Mounts: the /run directories by name, then every nsfs mount.
        var mounts: [UInt64: (path: String, kind: NetworkNamespace.Kind, name: String)] = [:]
        func remember(_ inode: UInt64, _ path: String) {
            let kind: NetworkNamespace.Kind
            let name: String
            if let base = child(of: runRoot + "/netns", path) {
                (kind, name) = (.named, base)
            } else if let base = child(of: runRoot + "/docker/netns", path) {
                (kind, name) = (.docker, base)
            } else {
                (kind, name) = (.mount, path)
            }
            // One name per namespace: an ip netns name over Docker's key over a bare mount point.
            if let known = mounts[inode], rank(known.kind) <= rank(kind) { return }
            mounts[inode] = (path, kind, name)
        }
        for directory in [runRoot + "/netns", runRoot + "/docker/netns"] {
            for name in HostFiles.directoryNames(directory) {
                let path = directory + "/" + name
                if let identity = try? Sys.statAt(Sys.currentDirectory, Array(path.utf8), follow: true) {
                    remember(identity.inode, path)
                }
            }
        }
        if let mountinfo = try? procfs.read("self/mountinfo", sizeHint: 65536) {
            for (inode, path) in ProcessFiles.networkNamespaceMounts(mountinfo: mountinfo) { remember(inode, path) }
        }

        var found: [Found] = []
        for inode in Set(pidsByInode.keys).union(mounts.keys).union([host]) where inode != 0 {
            let mount = mounts[inode]
            let namespace: NetworkNamespace
            if inode == host {
                namespace = NetworkNamespace(inode: inode, name: "host", kind: .host)
            } else if let mount {
                namespace = NetworkNamespace(inode: inode, name: mount.name, kind: mount.kind)
            } else {
                namespace = NetworkNamespace(inode: inode, name: nil, kind: .process)
            }
            var marked = namespace
            marked.isOwn = inode == own
            found.append(Found(namespace: marked, mountPath: mount?.path, pids: (pidsByInode[inode] ?? []).sorted()))
        }
        found.sort { $0.namespace < $1.namespace }
        return NamespaceDiscovery(found: found, own: own, diagnostics: diagnostics)
    }

    /// The last component of `path` when `path` is directly inside `directory`.
    static func child(of directory: String, _ path: String) -> String? {
        guard path.hasPrefix(directory + "/") else { return nil }
        let rest = path.dropFirst(directory.count + 1)
        return rest.isEmpty || rest.contains("/") ? nil : String(rest)
    }

    static func rank(_ kind: NetworkNamespace.Kind) -> Int {
        switch kind {
        case .host: return 0
        case .named: return 1
        case .docker: return 2
        case .mount: return 3
        case .process: return 4
        }
    }

    /// What a selection reads, and what it then keeps.
    public struct Selection: Sendable {
        /// The namespaces to read.
        public var read: [Found]
        /// Inodes the selectors named directly (all of `read` when no selector waits for owners).
        public var matched: Set<UInt64>
        /// Selectors that named no namespace, pid or inode: container names
        /// or ids, matched against the sockets' owners once they are known.
        public var unmatched: [NamespaceSelector]
    }

    /// The namespaces `selection` asks for. `automatic` sweeps every
    /// namespace as root on the live kernel, else reads portcullis's own.
    public func select(_ selection: NamespaceSelection, sweep: Bool) -> Selection {
        func just(_ chosen: [Found]) -> Selection { Selection(read: chosen, matched: Set(chosen.map(\.namespace.inode)), unmatched: []) }
        switch selection {
        case .own: return just(found.filter { $0.namespace.inode == own })
        case .all: return just(found)
        case .automatic: return just(sweep ? found : found.filter { $0.namespace.inode == own })
        case .only(let selectors):
            var chosen: [Found] = []
            var unmatched: [NamespaceSelector] = []
            for selector in selectors {
                let hits = found.filter { selector.matches($0.namespace, pids: $0.pids, containers: []) }
                if hits.isEmpty { unmatched.append(selector) }
                for hit in hits where !chosen.contains(hit) { chosen.append(hit) }
            }
            let matched = Set(chosen.map(\.namespace.inode))
            // A container's name is known only from its processes' cgroups:
            // every namespace is read, and the sockets kept afterwards.
            let waiting = unmatched.contains { if case .name = $0 { return true } else { return false } }
            return Selection(read: waiting ? found : chosen, matched: matched, unmatched: unmatched)
        }
    }
}

extension NamespaceDiscovery {
    /// The interface addresses of each namespace found (`ip -n NS addr`),
    /// over NETLINK_ROUTE from a socket made inside it; a namespace that
    /// cannot be entered is absent. Says which namespace a published port's
    /// target address lives in.
    public func addresses(procRoot: String = "/proc") -> [UInt64: [IPAddress]] {
        dumps(procRoot: procRoot, links: false).mapValues(\.addresses)
    }

    /// The interfaces of each namespace found (`ip -n NS addr`), with their
    /// addresses, prefixes and broadcast addresses; a namespace that cannot
    /// be entered is absent. Says what an address a socket is bound to is.
    public func interfaces(procRoot: String = "/proc") -> [UInt64: [NetworkInterface]] {
        dumps(procRoot: procRoot, links: true).mapValues { reply in
            reply.links.sorted { $0.index < $1.index }.map { link in
                let index = UInt32(bitPattern: link.index)
                return NetworkInterface(
                    index: index, name: link.name, isLoopback: link.flags & 0x8 != 0,  // IFF_LOOPBACK
                    addresses: reply.entries.filter { $0.interfaceIndex == index }.map(\.address))
            }
        }
    }

    /// An address dump (and a link dump) of each namespace found, from a
    /// NETLINK_ROUTE socket made inside it.
    func dumps(procRoot: String, links: Bool) -> [UInt64: RouteNetlinkWire.Reply] {
        var result: [UInt64: RouteNetlinkWire.Reply] = [:]
        let others = found.filter { $0.namespace.inode != own }
        let paths = others.map { $0.entryPath(procRoot: procRoot) }
        var sockets: [(UInt64, Result<Int32, Errno>)] = zip(
            others.map(\.namespace.inode), others.isEmpty ? [] : Sys.netlinkSockets(protocol: 0, inNamespaces: paths)
        ).map { ($0, $1) }
        if own != 0 { sockets.append((own, Result { () throws(Errno) in try Sys.netlinkSocket(protocol: 0) })) }
        for (inode, socket) in sockets {
            guard case .success(let fd) = socket else { continue }
            defer { Sys.close(fd) }
            guard var reply = try? RouteNetlink.dump(fd, RouteNetlinkWire.addressDumpRequest(sequence: 1)) else { continue }
            if links, let linkReply = try? RouteNetlink.dump(fd, RouteNetlinkWire.linkDumpRequest(sequence: 2)) {
                reply.links = linkReply.links
            }
            result[inode] = reply
        }
        return result
    }

    /// The networks this process's own network namespace is directly
    /// connected to (`ip addr`: each address with its prefix), for the scan
    /// rules to tell a target on the scanner's LAN from one beyond it;
    /// `LocalNetworks.unknown` when NETLINK_ROUTE cannot be asked.
    public static func localNetworks() -> LocalNetworks {
        guard let reply = try? RouteNetlink.ownNamespace(RouteNetlinkWire.addressDumpRequest(sequence: 1)) else { return .unknown }
        return LocalNetworks(reply.networks)
    }
}

/// NETLINK_ROUTE dumps of this process's own network namespace: its links,
/// its interface addresses with their prefixes, its neighbour table
/// (`ip link`, `ip addr`, `ip neigh`). No privilege is needed for any.
public enum RouteNetlink {
    /// Every link: index, name, MAC, type and flags.
    public static func links() throws(Errno) -> [RouteNetlinkWire.Link] {
        try ownNamespace(RouteNetlinkWire.linkDumpRequest(sequence: 1)).links
    }

    /// Every interface address, with its prefix length and interface.
    public static func interfaceAddresses() throws(Errno) -> [RouteNetlinkWire.SubnetAddress] {
        try ownNamespace(RouteNetlinkWire.addressDumpRequest(sequence: 1)).subnetAddresses
    }

    /// The IPv4 and IPv6 neighbour tables.
    public static func neighbours() throws(Errno) -> [RouteNetlinkWire.Neighbour] {
        try ownNamespace(RouteNetlinkWire.neighbourDumpRequest(sequence: 1)).neighbours
    }

    static func ownNamespace(_ request: [UInt8]) throws(Errno) -> RouteNetlinkWire.Reply {
        let fd = try Sys.netlinkSocket(protocol: 0)
        defer { Sys.close(fd) }
        return try dump(fd, request)
    }

    /// Sends a dump request and gathers the reply datagrams until
    /// NLMSG_DONE; an NLMSG_ERROR is thrown as its errno.
    static func dump(_ fd: Int32, _ request: [UInt8]) throws(Errno) -> RouteNetlinkWire.Reply {
        try Sys.sendToKernel(fd, request)
        var buffer = [UInt8](repeating: 0, count: 32768)
        var gathered = RouteNetlinkWire.Reply()
        // A dump is a few datagrams; a bound keeps a hostile or broken reply from looping.
        for _ in 0..<4096 {
            let count = try Sys.receive(fd, into: &buffer)
            guard count > 0 else { break }
            let reply = RouteNetlinkWire.decode(Array(buffer[0..<count]))
            gathered.entries += reply.entries
            gathered.links += reply.links
            gathered.neighbours += reply.neighbours
            if let error = reply.error { throw Errno(error) }
            if reply.isDone { break }
        }
        gathered.isDone = true
        return gathered
    }
}

extension HostFiles {
    /// Where MAC vendor lists are looked for, in order: Debian's ieee-data, then nmap's.
    public static let macVendorFiles = ["/usr/share/ieee-data/oui.txt", "/usr/share/nmap/nmap-mac-prefixes"]

    /// The first MAC vendor list that can be read, parsed; empty (every
    /// lookup nil) when none is installed.
    public static func macVendors(files: [String] = macVendorFiles) -> MACVendors {
        for file in files {
            guard let bytes = try? readFile(file) else { continue }
            let vendors = MACVendors.parse(String(decoding: bytes, as: UTF8.self))
            if vendors.count > 0 { return vendors }
        }
        return MACVendors()
    }
}
