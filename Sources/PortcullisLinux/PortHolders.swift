import PortcullisCore

extension InventoryCollector {
    /// Everything `who PORT[/PROTO]` shows: sockets in every state whose
    /// local port is `port` (and connections to that remote port), with each
    /// owner's parent chain.
    public mutating func who(port: UInt16, proto: TransportProtocol?) throws(CollectionError) -> (WhoReport, Inventory) {
        options.query.listeningOnly = false
        options.query.protocols = proto.map { [$0] } ?? [.tcp, .udp]
        var inventory = try collect()
        let procfs: ProcFS
        do { procfs = try ProcFS(root: options.procRoot) } catch {
            throw CollectionError("cannot open the proc root \(options.procRoot): \(error)")
        }
        var describer = ProcessDescriber(
            procfs: procfs, users: HostFiles.users(etcRoot: options.etcRoot), isLive: isLive, containers: containerReader())
        var items: [WhoReport.Item] = []
        for entry in inventory.entries {
            let s = entry.socket
            let role: WhoReport.Role
            if s.localPort == port {
                role = .local
            } else if s.remotePort == port && !s.isListening {
                role = .remote
            } else {
                continue
            }
            var ancestors: [Int32: [SocketOwner]] = [:]
            for owner in entry.owners { ancestors[owner.pid] = describer.ancestors(of: owner.pid) }
            items.append(WhoReport.Item(entry: entry, role: role, ancestors: ancestors))
        }
        // Local holders first, listeners before connections.
        items.sort { a, b in
            if a.role != b.role { return a.role == .local }
            return a.entry.socket.isListening && !b.entry.socket.isListening
        }
        inventory.diagnostics += containerStateReader?.takeDiagnostics() ?? []
        return (WhoReport(port: port, proto: proto, items: items), inventory)
    }
}
