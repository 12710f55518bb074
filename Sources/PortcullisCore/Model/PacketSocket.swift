/// An AF_PACKET socket: it receives whole link-layer frames, so it sees all
/// traffic of an interface (a sniffer) and can act on packets to any port or
/// none (a portless backdoor such as a BPF-filtered listener).
public struct PacketSocket: Hashable, Sendable {
    /// SOCK_RAW (3): frames with link-layer header; SOCK_DGRAM (2): without.
    public var type: UInt16
    /// Ethertype in host order (0x0003 = ETH_P_ALL: every protocol).
    public var ethertype: UInt16
    /// Bound interface index, 0 for all interfaces.
    public var interfaceIndex: UInt32
    /// uid of the socket's creator (the `User` column of /proc/net/packet).
    public var uid: UInt32
    /// Inode of the socket's file, which links it to the processes holding it.
    public var inode: UInt64

    /// Builds a record from the columns of /proc/net/packet.
    public init(type: UInt16, ethertype: UInt16, interfaceIndex: UInt32, uid: UInt32, inode: UInt64) {
        self.type = type
        self.ethertype = ethertype
        self.interfaceIndex = interfaceIndex
        self.uid = uid
        self.inode = inode
    }

    /// Bound to ETH_P_ALL (0x0003): receives every frame, whatever its protocol, as a full sniffer does.
    public var capturesEveryProtocol: Bool { ethertype == 0x0003 }

    /// The ethertype in words for reports: "all protocols", "IPv4", "IPv6", "ARP", "EAPOL", "LLDP", else "ethertype 0x" and hex digits.
    public var ethertypeName: String {
        switch ethertype {
        case 0x0003: return "all protocols"
        case 0x0800: return "IPv4"
        case 0x86dd: return "IPv6"
        case 0x0806: return "ARP"
        case 0x888e: return "EAPOL"
        case 0x88cc: return "LLDP"
        default: return "ethertype 0x" + String(ethertype, radix: 16)
        }
    }
}

/// A packet socket with its holders, as the audit sees it.
public struct PacketSocketEntry: Hashable, Sendable {
    /// The socket as /proc/net/packet lists it.
    public var socket: PacketSocket
    /// Processes holding the socket open; empty when none was found (`unownedReason` says why).
    public var owners: [SocketOwner]
    /// Why no owner is shown; set only when `owners` is empty.
    public var unownedReason: UnownedReason?

    /// Builds an entry; `InventoryBuilder.packetEntry(for:owners:)` makes it from an owner walk.
    public init(socket: PacketSocket, owners: [SocketOwner], unownedReason: UnownedReason?) {
        self.socket = socket
        self.owners = owners
        self.unownedReason = unownedReason
    }
}

extension ProcNetParser {
    /// /proc/net/packet: `sk RefCnt Type Proto Iface R Rmem User Inode`,
    /// Proto in hex (host order after ntohs), the rest decimal.
    public static func parsePacket(_ bytes: [UInt8], name: String) -> (sockets: [PacketSocket], diagnostics: [Diagnostic]) {
        var sockets: [PacketSocket] = []
        var diagnostics: [Diagnostic] = []
        for (number, line) in bytes.split(separator: 0x0a, omittingEmptySubsequences: false).enumerated() where number > 0 && !line.isEmpty
        {
            let fields = line.split(separator: 0x20)
            guard fields.count >= 9,
                let type = decimal(Array(fields[2]), 0..<fields[2].count), type <= UInt64(UInt16.max),
                let proto = hex(Array(fields[3]), 0..<fields[3].count), proto <= UInt64(UInt16.max),
                let interface = decimal(Array(fields[4]), 0..<fields[4].count), interface <= UInt64(UInt32.max),
                let uid = decimal(Array(fields[7]), 0..<fields[7].count), uid <= UInt64(UInt32.max),
                let inode = decimal(Array(fields[8]), 0..<fields[8].count)
            else {
                let shown = UntrustedText.escape(line.prefix(80))
                diagnostics.append(Diagnostic(.warning, "\(name):\(number + 1): malformed packet socket line skipped: \(shown)"))
                continue
            }
            sockets.append(
                PacketSocket(
                    type: UInt16(type), ethertype: UInt16(proto), interfaceIndex: UInt32(interface), uid: UInt32(uid), inode: inode))
        }
        return (sockets, diagnostics)
    }
}
