/// The NETLINK_ROUTE conversations portcullis has: the addresses of a
/// network namespace's interfaces (`ip -n NS addr`), to tell which namespace
/// a published port's target address belongs to and which subnets a scan
/// is directly connected to; and the interfaces themselves (`ip link`), to
/// resolve the zone of a link-local scan target.
public enum RouteNetlinkWire {
    static let getAddress: UInt16 = 22  // RTM_GETADDR
    static let newAddress: UInt16 = 20  // RTM_NEWADDR
    static let getLink: UInt16 = 18  // RTM_GETLINK
    static let newLink: UInt16 = 16  // RTM_NEWLINK
    static let done: UInt16 = 3  // NLMSG_DONE
    static let error: UInt16 = 2  // NLMSG_ERROR

    /// An RTM_GETADDR dump request for every family: nlmsghdr, then ifaddrmsg.
    public static func addressDumpRequest(sequence: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        put(UInt32(24))  // nlmsg_len
        put(getAddress)
        put(UInt16(0x301))  // NLM_F_REQUEST | NLM_F_DUMP
        put(sequence)
        put(UInt32(0))  // to the kernel
        bytes += [0, 0, 0, 0]  // ifa_family AF_UNSPEC, prefixlen, flags, scope
        put(UInt32(0))  // ifa_index
        return bytes
    }

    /// An RTM_GETLINK dump request: nlmsghdr, then an ifinfomsg of zeros (every interface).
    public static func linkDumpRequest(sequence: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        put(UInt32(32))  // nlmsg_len
        put(getLink)
        put(UInt16(0x301))  // NLM_F_REQUEST | NLM_F_DUMP
        put(sequence)
        put(UInt32(0))  // to the kernel
        bytes += [UInt8](repeating: 0, count: 16)  // ifi_family AF_UNSPEC, pad, type, index, flags, change
        return bytes
    }

    /// One address of an RTM_NEWADDR message, with its interface and prefix.
    public struct AddressEntry: Sendable, Equatable {
        /// The interface index (ifa_index).
        public var interfaceIndex: UInt32
        /// The address, prefix length and configured broadcast address.
        public var address: InterfaceAddress
    }

    /// One interface of an RTM_NEWLINK message.
    public struct Link: Sendable, Equatable {
        /// ifi_index.
        public var index: UInt32
        /// IFLA_IFNAME, as the kernel gives it (not escaped).
        public var name: String
        /// ifi_flags (IFF_UP 0x1, IFF_LOOPBACK 0x8, ...).
        public var flags: UInt32
    }

    /// What one reply datagram held: addresses, and whether the dump ended
    /// (NLMSG_DONE) or failed (an NLMSG_ERROR's errno, positive).
    public struct Reply: Sendable, Equatable {
        /// Interface addresses (IFA_LOCAL where given, else IFA_ADDRESS).
        public var addresses: [IPAddress] = []
        /// The same addresses with their interface index, prefix length and broadcast address.
        public var entries: [AddressEntry] = []
        /// Interfaces, from an RTM_GETLINK dump.
        public var links: [Link] = []
        /// The networks the interfaces are directly connected to: each address with its prefix length.
        public var networks: [LocalNetworks.Network] {
            entries.map { LocalNetworks.Network(address: $0.address.address, prefixLength: $0.address.prefixLength) }
        }
        /// NLMSG_DONE was seen.
        public var isDone = false
        /// The errno of an NLMSG_ERROR, if one ended the dump.
        public var error: Int32?

        /// An empty reply, to gather a dump's datagrams into.
        public init() {}
    }

    /// Decodes one datagram; malformed messages end the decoding (untrusted
    /// lengths are checked before every read).
    public static func decode(_ b: [UInt8]) -> Reply {
        var reply = Reply()
        var offset = 0
        func u16(_ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        while offset + 16 <= b.count {
            let length = Int(u32(offset))
            let type = u16(offset + 4)
            guard length >= 16, offset + length <= b.count else { break }
            switch type {
            case done:
                reply.isDone = true
                return reply
            case error:
                if length >= 20 {
                    let code = Int32(bitPattern: u32(offset + 16))
                    if code != 0 { reply.error = -code }
                }
                reply.isDone = true
                return reply
            case newLink where length >= 32:
                let index = u32(offset + 20)
                let flags = u32(offset + 24)
                var name: String?
                var at = offset + 32
                while at + 4 <= offset + length {
                    let attributeLength = Int(u16(at))
                    let attributeType = u16(at + 2)
                    guard attributeLength >= 4, at + attributeLength <= offset + length else { break }
                    if attributeType == 3 {  // IFLA_IFNAME, NUL-terminated
                        let data = b[(at + 4)..<(at + attributeLength)]
                        name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    at += (attributeLength + 3) & ~3
                }
                if let name { reply.links.append(Link(index: index, name: name, flags: flags)) }
            case newAddress where length >= 24:
                let family = b[offset + 16]
                let prefixLength = Int(b[offset + 17])
                let index = u32(offset + 20)
                var local: IPAddress?
                var address: IPAddress?
                var broadcast: IPAddress?
                var at = offset + 24
                while at + 4 <= offset + length {
                    let attributeLength = Int(u16(at))
                    let attributeType = u16(at + 2)
                    guard attributeLength >= 4, at + attributeLength <= offset + length else { break }
                    let data = Array(b[(at + 4)..<(at + attributeLength)])
                    let parsed = (family == 2 && data.count == 4) || (family == 10 && data.count == 16) ? IPAddress(bytes: data) : nil
                    switch attributeType {
                    case 1: address = parsed  // IFA_ADDRESS
                    case 2: local = parsed  // IFA_LOCAL
                    case 4: broadcast = parsed  // IFA_BROADCAST
                    default: break
                    }
                    at += (attributeLength + 3) & ~3
                }
                if let found = local ?? address {
                    reply.addresses.append(found)
                    reply.entries.append(
                        AddressEntry(
                            interfaceIndex: index,
                            address: InterfaceAddress(address: found, prefixLength: min(prefixLength, found.bitWidth), broadcast: broadcast)
                        ))
                }
            default:
                break
            }
            offset += (length + 3) & ~3
        }
        return reply
    }
}
