/// A network interface of the namespace portcullis runs in, as the kernel
/// reports it over NETLINK_ROUTE (`ip addr`): what a scan needs to resolve
/// a zone (`fe80::1%eth0`) and to know the broadcast addresses of the
/// subnets it is directly connected to.
public struct NetworkInterface: Sendable, Hashable {
    /// The kernel's interface index (`ip link` shows it first), what `sin6_scope_id` carries.
    public var index: UInt32
    /// The interface name (`eth0`), at most 15 bytes.
    public var name: String
    /// IFF_LOOPBACK is set.
    public var isLoopback: Bool
    /// The interface's addresses, in the kernel's order.
    public var addresses: [InterfaceAddress]

    /// An interface with its addresses.
    public init(index: UInt32, name: String, isLoopback: Bool = false, addresses: [InterfaceAddress] = []) {
        self.index = index
        self.name = name
        self.isLoopback = isLoopback
        self.addresses = addresses
    }

    /// The IPv4 broadcast addresses of the interface's subnets: for each
    /// IPv4 address with a prefix shorter than /31 the all-ones host part
    /// (the kernel adds a broadcast route for it whether or not `brd` was
    /// given), and any broadcast address configured explicitly. Each with
    /// the subnet it belongs to. /31 and /32 have none (RFC 3021).
    public var broadcastAddresses: [(address: IPAddress, network: AddressRange, prefixLength: Int)] {
        var out: [(address: IPAddress, network: AddressRange, prefixLength: Int)] = []
        for entry in addresses where entry.address.kind == .v4 {
            let network = AddressRange(network: entry.address, prefixLength: entry.prefixLength)
            if entry.prefixLength < 31 { out.append((network.last, network, entry.prefixLength)) }
            if let configured = entry.broadcast, configured.kind == .v4, configured != network.last, !configured.isUnspecified {
                out.append((configured, network, entry.prefixLength))
            }
        }
        return out
    }
}

/// One address of an interface (an RTM_NEWADDR message).
public struct InterfaceAddress: Sendable, Hashable {
    /// The address (IFA_LOCAL where the kernel gives one, else IFA_ADDRESS).
    public var address: IPAddress
    /// The subnet's prefix length (`/24`).
    public var prefixLength: Int
    /// The broadcast address configured with it (IFA_BROADCAST, `ip addr add … brd …`), if any.
    public var broadcast: IPAddress?

    /// An interface address.
    public init(address: IPAddress, prefixLength: Int, broadcast: IPAddress? = nil) {
        self.address = address
        self.prefixLength = prefixLength
        self.broadcast = broadcast
    }
}

/// The interface a scoped IPv6 address is reached through: the zone of
/// `fe80::1%eth0`, resolved to the kernel's index for `sin6_scope_id`.
public struct InterfaceZone: Sendable, Hashable, Comparable {
    /// The interface's name, as shown after `%` (a zone written as an index is shown by name).
    public var name: String
    /// The interface index the kernel knows it by.
    public var index: UInt32

    /// A resolved zone.
    public init(name: String, index: UInt32) {
        self.name = name
        self.index = index
    }

    /// By name, then index.
    public static func < (a: InterfaceZone, b: InterfaceZone) -> Bool { (a.name, a.index) < (b.name, b.index) }
}

extension IPAddress {
    /// Whether a zone (`%eth0`) means something on this address: IPv6
    /// link-local unicast (fe80::/10) and interface- or link-local multicast
    /// (ff01::/16, ff02::/16 and their flag variants, scopes 1 and 2).
    public var acceptsZone: Bool {
        guard kind == .v6, !isIPv4Mapped else { return false }
        if isLinkLocal { return true }
        return isMulticast && (1...2).contains((high >> 48) & 0xf)
    }
}

extension [NetworkInterface] {
    /// The interface a zone names: by name first, then, for a zone of digits
    /// only, by index (as getaddrinfo reads `fe80::1%2`). nil when none matches.
    public func interface(forZone zone: String) -> NetworkInterface? {
        if let named = first(where: { $0.name == zone }) { return named }
        guard !zone.isEmpty, zone.utf8.allSatisfy({ (48...57).contains($0) }), let index = UInt32(zone) else { return nil }
        return first { $0.index == index }
    }

    /// "lo, eth0": every interface name, in index order, for messages; "none" when there is none.
    public var namesForMessages: String {
        isEmpty ? "none" : sorted { $0.index < $1.index }.map { UntrustedText.escape($0.name) }.joined(separator: ", ")
    }
}
