import PortcullisCore

/// The remote (non-loopback) peers connected to TCP listeners now: one
/// sock_diag dump of established TCP sockets per network namespace that
/// holds such a listener (the host's own, or a container's entered through
/// a holder's /proc/PID/ns/net).
public enum RemoteClientCollection {
    /// Sightings by listener inode for every TCP listener in `entries` that
    /// is not loopback-only (a listener without remote peers gets an empty
    /// list), and what could not be read. Live hosts only.
    public static func collect(_ entries: [InventoryEntry], procRoot: String = "/proc") -> (
        clients: [UInt64: [ClientSighting]], diagnostics: [Diagnostic]
    ) {
        let listeners = entries.filter(RemoteClientEvidence.concerns)
        guard !listeners.isEmpty else { return ([:], []) }
        var diagnostics: [Diagnostic] = []
        var byNamespace: [UInt64: [InventoryEntry]] = [:]
        for entry in listeners { byNamespace[entry.isInOtherNamespace ? entry.socket.netns : 0, default: []].append(entry) }
        var clients: [UInt64: [ClientSighting]] = [:]
        let states = SocketState.established.mask
        // Only the listeners' ports, filtered by the kernel: a host's other
        // connections are never copied out.
        func dump(_ client: inout SockDiagClient, ports: [UInt16]) throws(SockDiagError) -> [SocketRecord] {
            var records: [SocketRecord] = []
            for family in AddressFamily.allCases {
                records += try client.dump(proto: .tcp, family: family, states: states, localPorts: ports)
            }
            return records
        }
        func ports(_ group: [InventoryEntry]) -> [UInt16] { Array(Set(group.map(\.socket.localPort))).sorted() }
        // Connections by local port first: each listener then looks only at
        // its own port's, not at every connection (10,000 listeners times
        // 5,000 connections was 50 million comparisons).
        func attribute(_ group: [InventoryEntry], _ records: [SocketRecord]) {
            var byPort: [UInt16: [SocketRecord]] = [:]
            for record in records { byPort[record.localPort, default: []].append(record) }
            for entry in group {
                clients[entry.socket.inode] = ClientSighting.of(listener: entry, connections: byPort[entry.socket.localPort] ?? [])
            }
        }
        if let own = byNamespace.removeValue(forKey: 0) {
            var client = SockDiagClient()
            do { attribute(own, try dump(&client, ports: ports(own))) } catch {
                diagnostics.append(Diagnostic(.warning, "remote clients not read: \(error)"))
            }
        }
        // Entered through a holder's /proc/PID/ns/net; a namespace whose
        // listeners no process holds cannot be entered from here.
        var others: [(netns: UInt64, group: [InventoryEntry], path: String)] = []
        for (netns, group) in byNamespace.sorted(by: { $0.key < $1.key }) {
            if let pid = group.lazy.flatMap(\.owners).first?.pid {
                others.append((netns, group, "\(procRoot)/\(pid)/ns/net"))
            } else {
                diagnostics.append(
                    Diagnostic(
                        .notice,
                        "remote clients of \(group.count) listener\(group.count == 1 ? "" : "s") in network namespace \(netns) not read: no process holds them to enter it through"
                    ))
            }
        }
        let sockets = others.isEmpty ? [] : Sys.netlinkSockets(protocol: 4, inNamespaces: others.map(\.path))
        for ((netns, group, _), socket) in zip(others, sockets) {
            switch socket {
            case .success(let fd):
                var client = SockDiagClient(adopting: fd)
                do { attribute(group, try dump(&client, ports: ports(group))) } catch {
                    diagnostics.append(Diagnostic(.warning, "remote clients in network namespace \(netns) not read: \(error)"))
                }
            case .failure(let error):
                diagnostics.append(Diagnostic(.warning, "remote clients in network namespace \(netns) not read: cannot enter it: \(error)"))
            }
        }
        return (clients, diagnostics)
    }
}
