/// A remote (non-loopback) peer connected to a listener at one moment:
/// what `snapshot` records in `snapshot_client`, and what the audit counts now.
public struct ClientSighting: Sendable, Hashable {
    /// The listener's protocol (TCP: only connections have peers).
    public var proto: TransportProtocol
    /// The listener's address family.
    public var family: AddressFamily
    /// The listener's local address, as text ("0.0.0.0", "::").
    public var localAddress: String
    /// The listener's port.
    public var localPort: UInt16
    /// The peer's address (IPv4-mapped addresses shown as IPv4).
    public var peerAddress: String
    /// Established connections from that peer at that moment.
    public var connections: Int

    /// Builds a sighting.
    public init(
        proto: TransportProtocol, family: AddressFamily, localAddress: String, localPort: UInt16, peerAddress: String, connections: Int
    ) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.localPort = localPort
        self.peerAddress = peerAddress
        self.connections = connections
    }

    /// Whether this sighting is of `entry`'s listener (same protocol, family, address and port).
    public func isOf(_ entry: InventoryEntry) -> Bool {
        let s = entry.socket
        return proto == s.proto && family == s.family && localPort == s.localPort && localAddress == s.localAddress.description
    }

    /// Groups established connections into sightings of `listener`: only
    /// non-loopback peers of connections to its port (and address, unless it
    /// listens on every address), counted per peer.
    public static func of(listener: InventoryEntry, connections: [SocketRecord]) -> [ClientSighting] {
        let l = listener.socket
        var counts: [String: Int] = [:]
        var order: [String] = []
        for c in connections where c.proto == l.proto && c.localPort == l.localPort && c.stateCode == SocketState.established.rawValue {
            guard c.family == l.family || (l.family == .ipv6 && c.localAddress.isIPv4Mapped) else { continue }
            guard l.localAddress.isUnspecified || c.localAddress.normalized == l.localAddress.normalized else { continue }
            guard !c.remoteAddress.isLoopback else { continue }
            let peer = c.remoteAddress.normalized.description
            if counts[peer] == nil { order.append(peer) }
            counts[peer, default: 0] += 1
        }
        return order.map {
            ClientSighting(
                proto: l.proto, family: l.family, localAddress: l.localAddress.description, localPort: l.localPort, peerAddress: $0,
                connections: counts[$0] ?? 0)
        }
    }
}

/// What the history database says about remote clients over a window.
public enum ClientHistory: Sendable, Equatable {
    /// Not consulted (a copied /proc, or `--client-window 0`).
    case notConsulted
    /// No history database could be read; the reason ("no history database at PATH").
    case unavailable(String)
    /// The snapshots of the last `days` days and the sightings they recorded.
    case window(days: Int, snapshots: Int, sightings: [StoredSighting])
}

/// A sighting as stored, with the snapshot it belongs to.
public struct StoredSighting: Sendable, Equatable {
    /// The snapshot's id.
    public var snapshotID: Int64
    /// What was seen.
    public var sighting: ClientSighting

    /// Builds a stored sighting.
    public init(snapshotID: Int64, sighting: ClientSighting) {
        self.snapshotID = snapshotID
        self.sighting = sighting
    }
}

/// Evidence about remote clients of a listener, for the exposed-datastore finding.
public enum RemoteClientEvidence {
    /// Whether the remote clients of `entry` are worth reading: a TCP
    /// listener beyond loopback that the audit would call a datastore (by
    /// its executable, or by its port when that is certain). Other listeners'
    /// clients are neither judged nor stored, and reading them costs a dump
    /// of every connection.
    public static func concerns(_ entry: InventoryEntry) -> Bool {
        let s = entry.socket
        guard s.proto == .tcp, s.isListening, !entry.exposure.isLoopbackOnly else { return false }
        let (byExecutable, byPort) = AuditRules.facts(for: entry, portFacts: PortKnowledge.facts(port: s.localPort, proto: .tcp))
        return (byExecutable + byPort).contains { $0.isIn(.datastore) }
    }

    /// The evidence about one program's sockets on one port (its IPv4 and
    /// IPv6 listeners are one datastore; clients of any of them count): the
    /// evidence lines and, when no remote client was seen now nor in any
    /// snapshot of the window, the sentence the fix starts with (one look at
    /// the connections alone is not enough to advise loopback). `now` is nil
    /// when connections were not read.
    public static func judge(_ sockets: [InventoryEntry], now byInode: [UInt64: [ClientSighting]]?, history: ClientHistory) -> (
        evidence: [String], noClientFix: String?
    ) {
        guard let first = sockets.first, first.socket.proto == .tcp else { return ([], nil) }
        let now = byInode.map { byInode in sockets.flatMap { byInode[$0.socket.inode] ?? [] } }
        var evidence: [String] = []
        var noneNow = false
        if let now {
            if now.isEmpty {
                evidence.append("no remote client connected now")
                noneNow = true
            } else {
                evidence.append(
                    "remote clients connected now: "
                        + now.prefix(5).map { "\($0.peerAddress) (\($0.connections) connection\($0.connections == 1 ? "" : "s"))" }
                        .joined(separator: ", ") + (now.count > 5 ? " and \(now.count - 5) more" : ""))
            }
        }
        switch history {
        case .notConsulted:
            return (evidence, nil)
        case .unavailable(let reason):
            evidence.append("\(reason): take snapshots (portcullis snapshot) to learn which clients use it")
            return (evidence, nil)
        case .window(let days, let snapshots, let sightings):
            let period = "the last \(days) day\(days == 1 ? "" : "s")"
            var bySnapshot: [String: Set<Int64>] = [:]
            var order: [String] = []
            for stored in sightings where sockets.contains(where: { stored.sighting.isOf($0) }) {
                if bySnapshot[stored.sighting.peerAddress] == nil { order.append(stored.sighting.peerAddress) }
                bySnapshot[stored.sighting.peerAddress, default: []].insert(stored.snapshotID)
            }
            if snapshots == 0 {
                evidence.append("the history database has no snapshot from \(period): take snapshots to learn which clients use it")
                return (evidence, nil)
            }
            if order.isEmpty {
                let counted = "\(snapshots) snapshot\(snapshots == 1 ? "" : "s") over \(period)"
                if noneNow {
                    evidence[evidence.count - 1] = "no remote client connected now, nor in \(counted)"
                } else {
                    evidence.append("no remote client in \(counted)")
                }
                let fix =
                    noneNow || now == nil
                    ? "No remote client \(now == nil ? "was" : "is connected now, nor was one") seen in \(snapshots) snapshot\(snapshots == 1 ? "" : "s") over \(period)"
                    : nil
                return (evidence, fix)
            }
            evidence.append(
                "remote clients seen over \(period): "
                    + order.prefix(5).map { "\($0) (\(bySnapshot[$0]?.count ?? 0) of \(snapshots) snapshot\(snapshots == 1 ? "" : "s"))" }
                    .joined(separator: ", ") + (order.count > 5 ? " and \(order.count - 5) more" : ""))
            return (evidence, nil)
        }
    }
}
