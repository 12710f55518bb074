/// The networks the scanning host is directly connected to: each interface
/// address with its prefix length (`ip addr`), read by the Linux layer over
/// NETLINK_ROUTE and passed to the scan rules as a plain value. A target on
/// one of them is on the scanner's LAN; any other is reached through a router.
public struct LocalNetworks: Sendable, Hashable {
    /// One interface address and the length of its network prefix (10.0.0.5/24).
    public struct Network: Sendable, Hashable, CustomStringConvertible {
        /// The interface's own address.
        public var address: IPAddress
        /// Bits of network prefix, 0...32 for IPv4 and 0...128 for IPv6.
        public var prefixLength: Int

        /// An address and its prefix length (clamped to the address's width).
        public init(address: IPAddress, prefixLength: Int) {
            self.address = address
            self.prefixLength = min(max(prefixLength, 0), address.bitWidth)
        }

        /// Whether `target` lies in this network (same family, same prefix).
        public func contains(_ target: IPAddress) -> Bool {
            let target = target.normalized
            return target.kind == address.kind
                && target.masked(toPrefix: prefixLength) == address.masked(toPrefix: prefixLength)
        }

        /// The network in CIDR form: "10.0.0.0/24".
        public var description: String { "\(address.masked(toPrefix: prefixLength))/\(prefixLength)" }
    }

    /// Every interface address with its prefix, in the order the kernel listed them.
    public var networks: [Network]
    /// False when the addresses could not be read (no NETLINK_ROUTE socket):
    /// then no target can be placed on or off the LAN.
    public var known: Bool

    /// The networks read; `known` false says they could not be read.
    public init(_ networks: [Network], known: Bool = true) {
        self.networks = networks
        self.known = known
    }

    /// Nothing could be read: every target's place is unknown.
    public static let unknown = LocalNetworks([], known: false)

    /// Where a target is, seen from the scanner.
    public enum Placement: Sendable, Hashable {
        /// On a directly connected network (the one named), or an IPv6
        /// link-local address, which is on a link by definition.
        case onLink(String)
        /// Reached through a router: on none of the scanner's networks.
        case beyond
        /// The scanner's own networks could not be read.
        case unknown

        /// On a directly connected network.
        public var isOnLink: Bool { if case .onLink = self { return true } else { return false } }
    }

    /// The narrowest directly connected network holding `target`; link-local
    /// IPv6 targets are on a link whatever the addresses say.
    public func placement(of target: IPAddress) -> Placement {
        let target = target.normalized
        if target.kind == .v6 && target.isLinkLocal { return .onLink("fe80::/10 (link-local)") }
        if let network = networks.filter({ $0.contains(target) }).max(by: { $0.prefixLength < $1.prefixLength }) {
            return .onLink(network.description)
        }
        return known ? .beyond : .unknown
    }
}
