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
        let fd = try Sys.netlinkSocket(protocol: 0)  // NETLINK_ROUTE
        defer { Sys.close(fd) }
        let links = try dump(fd, RouteNetlinkWire.linkDumpRequest(sequence: 1)).flatMap(\.links)
        let entries = try dump(fd, RouteNetlinkWire.addressDumpRequest(sequence: 2)).flatMap(\.entries)
        return links.sorted { $0.index < $1.index }.map { link in
            NetworkInterface(
                index: link.index, name: link.name, isLoopback: link.flags & 0x8 != 0,  // IFF_LOOPBACK
                addresses: entries.filter { $0.interfaceIndex == link.index }.map(\.address))
        }
    }

    /// Sends one dump request and gathers its replies until NLMSG_DONE.
    static func dump(_ fd: Int32, _ request: [UInt8]) throws(Errno) -> [RouteNetlinkWire.Reply] {
        try Sys.sendToKernel(fd, request)
        var buffer = [UInt8](repeating: 0, count: 32768)
        var all: [RouteNetlinkWire.Reply] = []
        // A dump is a few datagrams; a bound keeps a hostile or broken reply from looping.
        for _ in 0..<4096 {
            let count = try Sys.receive(fd, into: &buffer)
            guard count > 0 else { break }
            let reply = RouteNetlinkWire.decode(Array(buffer[0..<count]))
            all.append(reply)
            if let error = reply.error { throw Errno(error) }
            if reply.isDone { break }
        }
        return all
    }
}
