/// Joins kernel socket records with their holders and host knowledge into
/// inventory entries. Pure: every input is handed in.
public struct InventoryBuilder {
    /// What the owner walk found, and under which conditions it ran.
    public struct OwnerContext {
        /// Owners per socket inode, already described.
        public var ownersByInode: [UInt64: [SocketOwner]]
        /// Whether an owner walk ran at all.
        public var collected: Bool
        /// Some fd tables could not be read (EACCES/EPERM).
        public var someDenied: Bool
        /// Our effective uid: unprivileged walks cannot see other users' fds.
        public var effectiveUID: UInt32
        /// We run in a child PID namespace, so holders may be invisible.
        public var inChildPIDNamespace: Bool
        /// Inodes confirmed closed by a second dump.
        public var goneInodes: Set<UInt64>

        /// Builds the context from an owner walk; `goneInodes` stays empty when no second dump was made.
        public init(
            ownersByInode: [UInt64: [SocketOwner]], collected: Bool, someDenied: Bool,
            effectiveUID: UInt32, inChildPIDNamespace: Bool, goneInodes: Set<UInt64> = []
        ) {
            self.ownersByInode = ownersByInode
            self.collected = collected
            self.someDenied = someDenied
            self.effectiveUID = effectiveUID
            self.inChildPIDNamespace = inChildPIDNamespace
            self.goneInodes = goneInodes
        }
    }

    /// User names by uid (from /etc/passwd), for `InventoryEntry.user`.
    public var users: [UInt32: String]
    /// The host's net.ipv4.ip_local_port_range; nil when unknown, and then no port counts as ephemeral.
    public var ephemeralRange: ClosedRange<UInt16>?
    /// The conventional name of a port over a protocol (`ServiceTable.name(port:proto:)`), nil for none; not asked for RAW sockets.
    public var serviceName: (UInt16, TransportProtocol) -> String?
    /// The namespaces read, by inode, for `InventoryEntry.namespace`.
    public var namespaces: [UInt64: NetworkNamespace] = [:]

    /// Builds a builder from the host's users, ephemeral range and port names.
    public init(
        users: [UInt32: String], ephemeralRange: ClosedRange<UInt16>?,
        serviceName: @escaping (UInt16, TransportProtocol) -> String?
    ) {
        self.users = users
        self.ephemeralRange = ephemeralRange
        self.serviceName = serviceName
    }

    /// The entry for one socket: its user, port class, ephemeral flag, service, exposure, and owners by inode, or why it has none.
    public func entry(for socket: SocketRecord, owners context: OwnerContext) -> InventoryEntry {
        let owners = socket.inode == 0 ? [] : (context.ownersByInode[socket.inode] ?? [])
        let isRaw = socket.proto == .raw
        var entry = InventoryEntry(
            socket: socket,
            user: users[socket.uid],
            portClass: PortClass(port: socket.localPort),
            inEphemeralRange: !isRaw && (ephemeralRange?.contains(socket.localPort) ?? false),
            service: isRaw ? nil : serviceName(socket.localPort, socket.proto),
            exposure: Exposure(localAddress: socket.localAddress, v6only: socket.v6only, interfaceIndex: socket.interfaceIndex),
            owners: owners,
            unownedReason: owners.isEmpty ? Self.unownedReason(inode: socket.inode, uid: socket.uid, context) : nil)
        if socket.netns != 0 {
            entry.namespace = namespaces[socket.netns] ?? NetworkNamespace(inode: socket.netns, name: nil, kind: .process)
        }
        return entry
    }

    /// The entry for one packet socket: its owners by inode, or why it has none.
    public func packetEntry(for packet: PacketSocket, owners context: OwnerContext) -> PacketSocketEntry {
        let owners = context.ownersByInode[packet.inode] ?? []
        return PacketSocketEntry(
            socket: packet, owners: owners,
            unownedReason: owners.isEmpty ? Self.unownedReason(inode: packet.inode, uid: packet.uid, context) : nil)
    }

    /// `entry(for:owners:)` for each socket, in the same order.
    public func entries(for sockets: [SocketRecord], owners context: OwnerContext) -> [InventoryEntry] {
        sockets.map { entry(for: $0, owners: context) }
    }

    /// Why a socket has no owner, from the most to the least certain cause.
    static func unownedReason(inode: UInt64, uid: UInt32, _ context: OwnerContext) -> UnownedReason {
        if inode == 0 { return .noProcessState }
        if !context.collected { return .notCollected }
        if context.goneInodes.contains(inode) { return .gone }
        if context.someDenied || (context.effectiveUID != 0 && uid != context.effectiveUID) {
            return .notPermitted
        }
        if context.inChildPIDNamespace { return .otherPIDNamespace }
        return .kernelSocket
    }

    /// Orders entries for reading: protocol, local port, family, local
    /// address, remote end, inode. Sorts small keys, then moves each entry
    /// once, since entries are large.
    public static func sort(_ entries: inout [InventoryEntry]) {
        struct Key: Comparable {
            var proto: Int, port: UInt16, family: Int
            var local: IPAddress, remote: IPAddress, remotePort: UInt16, inode: UInt64, index: Int
            static func < (a: Key, b: Key) -> Bool {
                (a.proto, a.port, a.family) != (b.proto, b.port, b.family)
                    ? (a.proto, a.port, a.family) < (b.proto, b.port, b.family)
                    : a.local != b.local
                        ? a.local < b.local
                        : a.remote != b.remote
                            ? a.remote < b.remote
                            : (a.remotePort, a.inode, a.index) < (b.remotePort, b.inode, b.index)
            }
        }
        var keys = entries.indices.map { i -> Key in
            let s = entries[i].socket
            return Key(
                proto: s.proto.sortKey, port: s.localPort, family: s.family == .ipv4 ? 0 : 1,
                local: s.localAddress, remote: s.remoteAddress, remotePort: s.remotePort, inode: s.inode, index: i)
        }
        keys.sort()
        entries = keys.map { entries[$0.index] }
    }

    /// The notice shown when sockets could not be attributed, or nil.
    /// `asRoot` changes the advice: root lacking access needs a capability
    /// or namespace explanation, not "run as root".
    public static func unattributedNotice(_ entries: [InventoryEntry], asRoot: Bool = false) -> Diagnostic? {
        var counts: [UnownedReason: Int] = [:]
        for e in entries {
            if let reason = e.unownedReason, reason != .noProcessState { counts[reason, default: 0] += 1 }
        }
        guard !counts.isEmpty else { return nil }
        let total = counts.values.reduce(0, +)
        let parts = UnownedReason.allCases.compactMap { r in
            counts[r].map { n in
                let text =
                    r == .notPermitted && asRoot
                    ? "not permitted even as root: CAP_SYS_PTRACE is missing, or a user namespace or security module forbids it"
                    : r.explanation
                return "\(n) \(text)"
            }
        }
        let noun = total == 1 ? "socket" : "sockets"
        return Diagnostic(.notice, "\(total) \(noun) could not be attributed to a process: " + parts.joined(separator: "; "))
    }
}

extension TransportProtocol {
    var sortKey: Int {
        switch self {
        case .tcp: return 0
        case .udp: return 1
        case .raw: return 2
        }
    }
}
