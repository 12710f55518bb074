/// What makes a listener the same listener over time: protocol, family,
/// local address and port (for raw sockets the IP protocol number, which the
/// kernel reports in the port field), and, outside the host's network
/// namespace, the container it is in. Inode, pid, queue sizes and a
/// container's namespace inode change on every restart and are not part of it.
public struct ListenerKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// TCP, UDP or RAW.
    public var proto: TransportProtocol
    /// IPv4 or IPv6 socket; `tcp 0.0.0.0:22` and `tcp6 [::]:22` are different listeners.
    public var family: AddressFamily
    /// The bound local address as the kernel reports it (0.0.0.0 or :: for a wildcard).
    public var localAddress: IPAddress
    /// Local port; for a RAW socket the IP protocol number (the kernel reports it in the port field).
    public var localPort: UInt16
    /// Where the listener lives when not in the host's network namespace:
    /// its container's name (or short id), else the namespace's name, else
    /// `netns:[INODE]`. Nil for the host's namespace.
    public var scope: String?

    /// Builds a key from its parts (the snapshot reader does, from stored rows).
    public init(proto: TransportProtocol, family: AddressFamily, localAddress: IPAddress, localPort: UInt16, scope: String? = nil) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.localPort = localPort
        self.scope = scope
    }

    /// The key of a socket from the kernel's table, in the host's namespace
    /// (a socket alone does not say which container holds it).
    public init(_ socket: SocketRecord) {
        self.init(proto: socket.proto, family: socket.family, localAddress: socket.localAddress, localPort: socket.localPort)
    }

    /// The key of an inventoried socket, scoped by its container outside the host's namespace.
    public init(_ entry: InventoryEntry) {
        let s = entry.socket
        self.init(proto: s.proto, family: s.family, localAddress: s.localAddress, localPort: s.localPort, scope: Self.scope(of: entry))
    }

    /// The scope of an entry: nil in the host's (or an unknown) namespace.
    public static func scope(of entry: InventoryEntry) -> String? {
        guard let namespace = entry.namespace, !namespace.isHost else { return nil }
        if let container = entry.owners.lazy.compactMap(\.containerReference).first { return container.displayName }
        if let id = entry.owners.lazy.compactMap(\.container).first { return String(id.prefix(12)) }
        return namespace.label
    }

    /// Report order: protocol, then port, then IPv4 before IPv6, then address.
    public static func < (a: ListenerKey, b: ListenerKey) -> Bool {
        if a.proto != b.proto { return a.proto.sortKey < b.proto.sortKey }
        if a.localPort != b.localPort { return a.localPort < b.localPort }
        if a.family != b.family { return a.family == .ipv4 }
        if a.localAddress != b.localAddress { return a.localAddress < b.localAddress }
        return (a.scope ?? "") < (b.scope ?? "")
    }

    /// `tcp 0.0.0.0:22`, `udp6 [::]:53`, `raw 0.0.0.0:* (icmp (1))`.
    public var description: String {
        let name = proto.rawValue + (family == .ipv6 ? "6" : "")
        let address = InventoryRenderer.address(localAddress, port: localPort, proto: proto)
        let text =
            proto == .raw
            ? "\(name) \(address) (\(InventoryRenderer.ipProtocolName(UInt8(truncatingIfNeeded: localPort))))" : "\(name) \(address)"
        return scope.map { "\(text) in \($0)" } ?? text
    }

    /// The key's fields as JSON, in the socket object's names.
    public var jsonFields: [(String, JSONValue)] {
        [
            ("proto", .string(proto.rawValue)), ("family", .string(family.rawValue)),
            ("local_address", .string(localAddress.description)), ("local_port", .int(Int64(localPort))),
            ("namespace", .optional(scope)),
        ]
    }
}

/// Everything listening on one `ListenerKey`: usually one socket, several
/// with SO_REUSEPORT. Owners are the union of the sockets' holders.
public struct ListenerView: Hashable, Sendable {
    /// The protocol, family, address and port every socket here shares.
    public var key: ListenerKey
    /// The listening sockets on the key, in the order the inventory gave them; more than one with SO_REUSEPORT.
    public var sockets: [InventoryEntry]

    /// Builds a view from sockets that share `key`; `group(_:)` does it for a whole inventory.
    public init(key: ListenerKey, sockets: [InventoryEntry]) {
        self.key = key
        self.sockets = sockets
    }

    /// The widest exposure among the sockets (they share an address, so they
    /// differ only by IPV6_V6ONLY or a bound device).
    public var exposure: Exposure {
        sockets.map(\.exposure).max { Self.width($0) < Self.width($1) } ?? .loopback
    }

    static func width(_ e: Exposure) -> Int {
        switch e {
        case .loopback: return 0
        case .linkLocal: return 1
        case .specificAddress: return 2
        case .allInterfacesIPv4, .allInterfacesIPv6: return 3
        case .allInterfacesDualStack: return 4
        }
    }

    /// Every holder once, by pid.
    public var owners: [SocketOwner] {
        var seen = Set<Int32>()
        var out: [SocketOwner] = []
        for socket in sockets {
            for owner in socket.owners where seen.insert(owner.pid).inserted { out.append(owner) }
        }
        return out.sorted { $0.pid < $1.pid }
    }

    /// The first service name any of the sockets has (from the port table, e.g. "ssh"); nil when none has one.
    public var service: String? { sockets.lazy.compactMap(\.service).first }

    /// Why no owner is shown: the first socket's reason, and only when no socket has an owner.
    public var unownedReason: UnownedReason? {
        owners.isEmpty ? sockets.lazy.compactMap(\.unownedReason).first : nil
    }

    /// Who runs it, as far as a change of owner is concerned: each holder's
    /// executable (its name when the executable could not be read) and user.
    /// Pids are not part of it: a restart is not a change of owner.
    public var ownerIdentity: Set<OwnerIdentity> {
        Set(owners.map { OwnerIdentity(program: $0.exe ?? "comm:" + $0.name, uid: $0.uid) })
    }

    /// Whether the owners are known: some holder was found, or a full walk
    /// as root found none. Sockets that could not be attributed (no
    /// privilege, a /proc copy) are never compared.
    public var ownersKnown: Bool {
        !owners.isEmpty || sockets.contains { $0.unownedReason == .kernelSocket }
    }

    /// Held by a different executable or user than `earlier`; only when
    /// both sides know their owners (an unattributed socket never "changes").
    public func ownerDiffers(from earlier: ListenerView) -> Bool {
        ownersKnown && earlier.ownersKnown && ownerIdentity != earlier.ownerIdentity
    }

    /// The sockets' inode numbers, ascending.
    public var inodes: [UInt64] { sockets.map(\.socket.inode).sorted() }

    /// Groups entries by key, in key order.
    public static func group(_ entries: [InventoryEntry]) -> [ListenerKey: ListenerView] {
        var out: [ListenerKey: ListenerView] = [:]
        for entry in entries where entry.socket.isListening {
            let key = ListenerKey(entry)
            out[key, default: ListenerView(key: key, sockets: [])].sockets.append(entry)
        }
        return out
    }
}

/// Who holds a listener, as a change of owner sees it: executable and user, without the pid.
public struct OwnerIdentity: Hashable, Sendable {
    /// The executable's path, or "comm:NAME" when the path could not be read.
    public var program: String
    /// The holder's uid; nil when it could not be read.
    public var uid: UInt32?
}
