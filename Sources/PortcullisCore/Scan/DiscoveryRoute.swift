/// How host discovery reaches one target, decided from this host's own
/// interface addresses (pure: the Linux layer reads them, this decides).
public enum DiscoveryRoute: Sendable, Hashable {
    /// The address is one of this host's own: up, `localhost-response`.
    case local
    /// On a directly connected subnet of interface `interfaceIndex`, whose
    /// address there is `source` (the sender of ARP requests).
    case link(interfaceIndex: Int32, source: IPAddress)
    /// Reached through a router, or on no known subnet: ICMP echo and TCP probes.
    case beyond

    /// The interface of a `link` route; nil otherwise.
    public var interfaceIndex: Int32? {
        if case .link(let interface, _) = self { return interface }
        return nil
    }

    /// The route for `target`: `local` when it is one of `addresses`; `link`
    /// through the interface whose subnet holds it (the longest prefix wins;
    /// host routes such as a /32 and loopback subnets are not links); `beyond` otherwise.
    public static func route(for target: IPAddress, addresses: [RouteNetlinkWire.SubnetAddress]) -> DiscoveryRoute {
        if addresses.contains(where: { $0.address == target }) || target.isLoopback { return .local }
        var best: RouteNetlinkWire.SubnetAddress?
        for entry in addresses
        where entry.prefixLength < entry.address.bitWidth && !entry.address.isLoopback && entry.subnetContains(target) {
            if let current = best, current.prefixLength >= entry.prefixLength { continue }
            best = entry
        }
        guard let best else { return .beyond }
        return .link(interfaceIndex: best.interfaceIndex, source: best.address)
    }
}
