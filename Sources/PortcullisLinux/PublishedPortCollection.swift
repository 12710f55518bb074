import PortcullisCore

/// Ports the host publishes into other network namespaces, read from the
/// live host: the DNAT rules of the firewall portcullis read, and userland
/// proxies (docker-proxy, rootlessport, pasta) among the listeners' owners;
/// each judged along the path a new connection takes; and the namespaces
/// they may lead into, with their addresses and listeners.
public enum PublishedPortCollection {
    /// What the audit needs about published ports.
    public struct Result: Sendable {
        /// Every publication found, judged.
        public var publications: [JudgedPublication] = []
        /// The namespaces read, by inode: their addresses and listeners.
        public var namespaces: [UInt64: TargetNamespace] = [:]
        /// What could not be read.
        public var diagnostics: [Diagnostic] = []
    }

    /// Programs whose command line says what they publish.
    static let proxies: Set<String> = ["docker-proxy", "rootlessport", "pasta", "pasta.avx2"]

    /// Reads it all for `inventory` (listening sockets of every namespace read) with `firewall` as read;
    /// `discovery` is the namespaces the inventory's collection found (found again when nil).
    public static func collect(
        firewall: FirewallSnapshot?, inventory: Inventory, discovery known: NamespaceDiscovery? = nil, procRoot: String = "/proc"
    ) -> Result {
        var result = Result()
        guard let procfs = try? ProcFS(root: procRoot) else { return result }
        var ports: [PortPublication] = []
        if let model = firewall?.model {
            let scan = model.publishedPorts()
            ports += scan.ports
            result.diagnostics += scan.diagnostics
        }
        // Userland proxies: one scan per process, its argv read raw (NUL-separated).
        var seen = Set<Int32>()
        for entry in inventory.entries {
            for owner in entry.owners where seen.insert(owner.pid).inserted {
                let base = owner.exe.map { String($0.split(separator: "/").last ?? "") } ?? owner.name
                guard proxies.contains(base) || proxies.contains(owner.name),
                    let raw = try? procfs.read("\(owner.pid)/cmdline", sizeHint: 4096)
                else { continue }
                let argv = raw.split(separator: 0, omittingEmptySubsequences: false).dropLast(raw.last == 0 ? 1 : 0).map {
                    String(decoding: $0, as: UTF8.self)
                }
                let held = inventory.entries.filter { $0.socket.isListening && $0.owners.contains { $0.pid == owner.pid } }.map {
                    ListeningEndpoint(proto: $0.socket.proto, address: $0.socket.localAddress, port: $0.socket.localPort)
                }
                if let scan = UserlandProxy.publishedPorts(argv: argv, pid: owner.pid, listeners: held) {
                    ports += scan.ports
                    result.diagnostics += scan.diagnostics
                }
            }
        }
        let forwarding = (try? procfs.read("sys/net/ipv4/ip_forward")).map { $0.first == UInt8(ascii: "1") }
        let routeLocalnet = (try? procfs.read("sys/net/ipv4/conf/all/route_localnet")).map { $0.first == UInt8(ascii: "1") }
        let context = PublishedPortContext(forwarding: forwarding, routeLocalnet: routeLocalnet)
        result.publications = ports.map { JudgedPublication(publication: $0, judgement: firewall?.judge($0, context: context)) }
        guard !ports.isEmpty else { return result }

        // Where they may lead: every namespace whose tables were read (a
        // target elsewhere is never called empty), by its addresses.
        let read = Set(inventory.namespacesRead.map(\.inode))
        var discovery = known ?? NamespaceDiscovery.discover(procfs: procfs)
        discovery.found = discovery.found.filter { read.contains($0.namespace.inode) }
        let addresses = discovery.addresses(procRoot: procRoot)
        var names: [UInt64: String] = [:]
        var listeners: [UInt64: [ListeningEndpoint]] = [:]
        for entry in inventory.entries where entry.socket.isListening {
            guard let namespace = entry.namespace else { continue }
            names[namespace.inode] = namespace.label
            listeners[namespace.inode, default: []].append(
                ListeningEndpoint(proto: entry.socket.proto, address: entry.socket.localAddress, port: entry.socket.localPort))
        }
        for found in discovery.found {
            let inode = found.namespace.inode
            result.namespaces[inode] = TargetNamespace(
                name: names[inode] ?? found.namespace.label, addresses: addresses[inode] ?? [], isHost: found.namespace.isOwn,
                listeners: listeners[inode] ?? [])
        }
        return result
    }
}
