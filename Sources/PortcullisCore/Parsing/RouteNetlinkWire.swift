/// portcullis's NETLINK_ROUTE conversations: the addresses of a network
/// namespace's interfaces (`ip -n NS addr`), to tell which namespace a
/// published port's target address belongs to; and, for scan's host
/// discovery, the links (`ip link`: index, name, MAC) and the neighbour
/// table (`ip neigh`: who answered ARP or neighbour discovery lately); the
/// scan's target checks use the addresses' prefixes and broadcasts, and the
/// links' names resolve the zone of a link-local target.
public enum RouteNetlinkWire {
    static let getAddress: UInt16 = 22  // RTM_GETADDR
    static let newAddress: UInt16 = 20  // RTM_NEWADDR
    static let getLink: UInt16 = 18  // RTM_GETLINK
    static let newLink: UInt16 = 16  // RTM_NEWLINK
    static let getNeighbour: UInt16 = 30  // RTM_GETNEIGH
    static let newNeighbour: UInt16 = 28  // RTM_NEWNEIGH
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

    /// An RTM_GETLINK dump request: nlmsghdr, then an ifinfomsg of zeros.
    public static func linkDumpRequest(sequence: UInt32) -> [UInt8] { dumpRequest(type: getLink, sequence: sequence, body: 16) }

    /// An RTM_GETNEIGH dump request for every family: nlmsghdr, then an ndmsg of zeros.
    public static func neighbourDumpRequest(sequence: UInt32) -> [UInt8] { dumpRequest(type: getNeighbour, sequence: sequence, body: 12) }

    static func dumpRequest(type: UInt16, sequence: UInt32, body: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        put(UInt32(16 + body))
        put(type)
        put(UInt16(0x301))  // NLM_F_REQUEST | NLM_F_DUMP
        put(sequence)
        put(UInt32(0))
        bytes += [UInt8](repeating: 0, count: body)
        return bytes
    }

    /// One address of an RTM_NEWADDR message, with its interface and prefix.
    public struct AddressEntry: Sendable, Equatable {
        /// The interface index (ifa_index).
        public var interfaceIndex: UInt32
        /// The address, prefix length and configured broadcast address.
        public var address: InterfaceAddress
    }

    /// One interface address with its prefix and interface, as host discovery routes by it.
    public struct SubnetAddress: Sendable, Hashable {
        /// IFA_LOCAL where given, else IFA_ADDRESS.
        public var address: IPAddress
        /// The prefix length (`/24`).
        public var prefixLength: Int
        /// The interface's index (ifa_index).
        public var interfaceIndex: Int32

        /// Builds an entry.
        public init(address: IPAddress, prefixLength: Int, interfaceIndex: Int32) {
            self.address = address
            self.prefixLength = prefixLength
            self.interfaceIndex = interfaceIndex
        }

        /// Whether `other` lies in this address's subnet (same family, same prefix bits).
        public func subnetContains(_ other: IPAddress) -> Bool {
            other.kind == address.kind && prefixLength <= address.bitWidth
                && other.masked(toPrefix: prefixLength) == address.masked(toPrefix: prefixLength)
        }
    }

    /// One network interface (RTM_NEWLINK).
    public struct Link: Sendable, Hashable {
        /// ifi_index.
        public var index: Int32
        /// IFLA_IFNAME ("eth0"), as the kernel gave it.
        public var name: String
        /// IFLA_ADDRESS: the link-layer address (6 bytes on Ethernet); empty when none.
        public var hardwareAddress: [UInt8]
        /// ifi_type (ARPHRD_ETHER is 1, ARPHRD_LOOPBACK 772).
        public var type: UInt16
        /// ifi_flags (IFF_UP 0x1, IFF_LOOPBACK 0x8, IFF_RUNNING 0x40, IFF_NOARP 0x80).
        public var flags: UInt32

        /// Builds a link.
        public init(index: Int32, name: String, hardwareAddress: [UInt8], type: UInt16, flags: UInt32) {
            self.index = index
            self.name = name
            self.hardwareAddress = hardwareAddress
            self.type = type
            self.flags = flags
        }

        /// An Ethernet link that is up and does ARP: where ARP requests can go.
        public var canARP: Bool { type == 1 && flags & 0x1 != 0 && flags & 0x80 == 0 && hardwareAddress.count == 6 }
    }

    /// One neighbour-table entry (RTM_NEWNEIGH).
    public struct Neighbour: Sendable, Hashable {
        /// NDA_DST: the neighbour's IP address.
        public var address: IPAddress
        /// NDA_LLADDR: its link-layer address; empty when unresolved.
        public var hardwareAddress: [UInt8]
        /// ndm_ifindex.
        public var interfaceIndex: Int32
        /// ndm_state: NUD_INCOMPLETE 0x01, REACHABLE 0x02, STALE 0x04, DELAY 0x08, PROBE 0x10, FAILED 0x20, NOARP 0x40, PERMANENT 0x80.
        public var state: UInt16

        /// Builds an entry.
        public init(address: IPAddress, hardwareAddress: [UInt8], interfaceIndex: Int32, state: UInt16) {
            self.address = address
            self.hardwareAddress = hardwareAddress
            self.interfaceIndex = interfaceIndex
            self.state = state
        }

        /// NUD_REACHABLE: the neighbour confirmed its address within the last
        /// reachable time (about 30 s), so it is up now; stale, failed and
        /// incomplete entries prove nothing.
        public var isReachable: Bool { state & 0x02 != 0 && hardwareAddress.count == 6 }
    }

    /// What one reply datagram held: addresses, links or neighbours, and
    /// whether the dump ended (NLMSG_DONE) or failed (an NLMSG_ERROR's errno, positive).
    public struct Reply: Sendable, Equatable {
        /// Interface addresses (IFA_LOCAL where given, else IFA_ADDRESS), from `entries`.
        public var addresses: [IPAddress] { entries.map(\.address.address) }
        /// The same addresses with their interface index, prefix length and broadcast address.
        public var entries: [AddressEntry] = []
        /// The same addresses as host discovery routes by them.
        public var subnetAddresses: [SubnetAddress] {
            entries.map {
                SubnetAddress(
                    address: $0.address.address, prefixLength: $0.address.prefixLength,
                    interfaceIndex: Int32(bitPattern: $0.interfaceIndex))
            }
        }
        /// The networks the interfaces are directly connected to: each address with its prefix length.
        public var networks: [LocalNetworks.Network] {
            entries.map { LocalNetworks.Network(address: $0.address.address, prefixLength: $0.address.prefixLength) }
        }
        /// Links, from an RTM_GETLINK dump.
        public var links: [Link] = []
        /// Neighbour entries, from an RTM_GETNEIGH dump.
        public var neighbours: [Neighbour] = []
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
        /// The (type, bytes) attributes of the message at `offset`, starting `header` bytes in.
        func attributes(_ offset: Int, _ length: Int, header: Int) -> [(UInt16, [UInt8])] {
            var found: [(UInt16, [UInt8])] = []
            var at = offset + 16 + header
            while at + 4 <= offset + length {
                let attributeLength = Int(u16(at))
                guard attributeLength >= 4, at + attributeLength <= offset + length else { break }
                found.append((u16(at + 2) & 0x3fff, Array(b[(at + 4)..<(at + attributeLength)])))
                at += (attributeLength + 3) & ~3
            }
            return found
        }
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
                    reply.entries.append(
                        AddressEntry(
                            interfaceIndex: index,
                            address: InterfaceAddress(address: found, prefixLength: min(prefixLength, found.bitWidth), broadcast: broadcast)
                        ))
                }
            case newLink where length >= 32:
                var link = Link(
                    index: Int32(bitPattern: u32(offset + 20)), name: "", hardwareAddress: [], type: u16(offset + 18),
                    flags: u32(offset + 24))
                for (type, data) in attributes(offset, length, header: 16) {
                    if type == 1 {
                        link.hardwareAddress = data
                    } else if type == 3 {
                        link.name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                    }
                }
                // The kernel names every link; a message without IFLA_IFNAME is malformed.
                if !link.name.isEmpty { reply.links.append(link) }
            case newNeighbour where length >= 28:
                let family = b[offset + 16]
                var destination: IPAddress?
                var hardware: [UInt8] = []
                for (type, data) in attributes(offset, length, header: 12) {
                    if type == 1, (family == 2 && data.count == 4) || (family == 10 && data.count == 16) {
                        destination = IPAddress(bytes: data)
                    } else if type == 2 {
                        hardware = data
                    }
                }
                if let destination {
                    reply.neighbours.append(
                        Neighbour(
                            address: destination, hardwareAddress: hardware, interfaceIndex: Int32(bitPattern: u32(offset + 20)),
                            state: u16(offset + 24)))
                }
            default:
                break
            }
            offset += (length + 3) & ~3
        }
        return reply
    }
}
