import CPortcullisSys
import PortcullisCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The sockets of scan's host discovery, in the style of Syscalls.swift
/// (errno read at once, EINTR retried, `Errno` thrown): AF_PACKET sockets
/// for ARP, raw and datagram ICMP sockets for echo requests.
extension Sys {
    /// EtherType of ARP.
    package static let etherTypeARP: UInt16 = 0x0806

    /// A non-blocking ARP socket bound to interface `index` (needs CAP_NET_RAW).
    package static func arpSocket(interfaceIndex index: Int32) throws(Errno) -> Int32 {
        try retrying { portcullis_packet_socket(index, etherTypeARP) }
    }

    /// Sends an ARP payload to `destination` on interface `index`.
    package static func sendARP(_ fd: Int32, interfaceIndex index: Int32, to destination: MACAddress, _ bytes: [UInt8]) throws(Errno) {
        _ = try retrying {
            destination.bytes.withUnsafeBufferPointer { mac in
                bytes.withUnsafeBytes { portcullis_packet_send(fd, index, etherTypeARP, mac.baseAddress, $0.baseAddress, $0.count) }
            }
        }
    }

    /// One frame's payload from a packet socket: byte count, the sender's
    /// MAC, and whether it came in (false for this host's own outgoing
    /// frames). EAGAIN (`meansWouldBlock`) when nothing waits.
    package static func receiveFrame(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> (
        count: Int, source: MACAddress, incoming: Bool
    ) {
        var source = [UInt8](repeating: 0, count: 6)
        var incoming: Int32 = 0
        let count = try retrying {
            buffer.withUnsafeMutableBytes { b in
                source.withUnsafeMutableBufferPointer { portcullis_packet_receive(fd, b.baseAddress, b.count, $0.baseAddress, &incoming) }
            }
        }
        return (count, MACAddress(bytes: source) ?? .broadcast, incoming != 0)
    }

    /// A non-blocking ICMP (or ICMPv6) socket: raw (root, CAP_NET_RAW) or
    /// the unprivileged datagram kind that net.ipv4.ping_group_range allows
    /// (EACCES when the group range excludes us).
    package static func icmpSocket(ipv6: Bool, raw: Bool) throws(Errno) -> Int32 {
        let type = (raw ? CConstant.sockRaw : CConstant.sockDgram) | CConstant.sockNonblock | CConstant.sockCloexec
        return try retrying { socket(ipv6 ? AF_INET6 : AF_INET, type, ipv6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)) }
    }

    /// bind(2) of a socket to a local address (an ICMPv6 socket that must
    /// send from, and hear answers to, one address of a link).
    package static func bindLocal(_ fd: Int32, to endpoint: InetEndpoint) throws(Errno) { try bind(fd, to: endpoint) }

    /// sendto(2) of one datagram to `endpoint` (the port is ignored by ICMP sockets).
    package static func sendDatagram(_ fd: Int32, _ bytes: [UInt8], to endpoint: InetEndpoint) throws(Errno) {
        _ = try retrying {
            withSocketAddress(endpoint) { address, length in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
    }

    /// getegid(2) and the supplementary groups: who net.ipv4.ping_group_range must admit.
    package static func groupIDs() -> [UInt32] {
        var groups = [gid_t](repeating: 0, count: 256)
        let count = getgroups(Int32(groups.count), &groups)
        return [getegid()] + groups.prefix(max(0, Int(count)))
    }

    /// Whether this process runs as root (effective uid 0).
    package static var isRoot: Bool { geteuid() == 0 }
}
