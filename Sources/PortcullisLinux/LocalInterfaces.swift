import PortcullisCore

/// The interfaces of the network namespace portcullis runs in, with their
/// addresses (`ip addr`), read over NETLINK_ROUTE: an RTM_GETLINK dump for
/// names and indexes, an RTM_GETADDR dump for addresses. Netlink rather than
/// /sys/class/net, which shows the namespace sysfs was mounted in (under
/// `nsenter --net`, another one's).
public enum LocalInterfaces {
    /// Every interface, in index order, each with its addresses.
    /// - Throws: the errno of a socket, send or receive that failed, or of an NLMSG_ERROR that ended a dump.
    public static func read() throws(Errno) -> [NetworkInterface] {
        let links = try RouteNetlink.links()
        let entries = try RouteNetlink.ownNamespace(RouteNetlinkWire.addressDumpRequest(sequence: 1)).entries
        return links.sorted { $0.index < $1.index }.map { link in
            let index = UInt32(bitPattern: link.index)
            return NetworkInterface(
                index: index, name: link.name, isLoopback: link.flags & 0x8 != 0,  // IFF_LOOPBACK
                addresses: entries.filter { $0.interfaceIndex == index }.map(\.address))
        }
    }
}
