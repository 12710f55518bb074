/// The packets host discovery sends and reads, as pure codecs: ARP over
/// Ethernet (RFC 826, the payload of an AF_PACKET SOCK_DGRAM socket), ICMP
/// echo (RFC 792) and ICMPv6 echo (RFC 4443). Every decoder checks lengths
/// before reading and returns nil for anything it does not recognise, so a
/// hostile packet costs nothing.

/// A 48-bit link-layer (MAC) address.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    /// The six bytes, in wire order.
    public let bytes: [UInt8]

    /// Six bytes; nil for any other count.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    /// From "52:54:00:12:34:56" or "52-54-00-12-34-56" (either case); nil otherwise.
    public init?(parsing text: String) {
        let parts = text.split(omittingEmptySubsequences: false) { $0 == ":" || $0 == "-" }
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// ff:ff:ff:ff:ff:ff.
    public static let broadcast = MACAddress(uncheckedBytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

    init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

    /// Lowercase, colon-separated: "52:54:00:12:34:56".
    public var description: String {
        bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
        }.joined(separator: ":")
    }
}

/// An ARP packet for IPv4 over Ethernet (htype 1, ptype 0x0800, 28 bytes).
public struct ARPPacket: Sendable, Hashable {
    /// 1 request, 2 reply.
    public var operation: UInt16
    /// The sender's hardware address.
    public var senderMAC: MACAddress
    /// The sender's IPv4 address.
    public var senderIP: IPAddress
    /// The target's hardware address (zeros in a request).
    public var targetMAC: MACAddress
    /// The target's IPv4 address (the one asked about, in a request).
    public var targetIP: IPAddress

    /// ARP's request operation code.
    public static let request: UInt16 = 1
    /// ARP's reply operation code.
    public static let reply: UInt16 = 2

    /// Builds a packet; addresses must be IPv4.
    public init(operation: UInt16, senderMAC: MACAddress, senderIP: IPAddress, targetMAC: MACAddress, targetIP: IPAddress) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    /// "Who has `target`? Tell `senderIP`": a request from our interface.
    public static func whoHas(_ target: IPAddress, from senderMAC: MACAddress, _ senderIP: IPAddress) -> ARPPacket {
        ARPPacket(
            operation: request, senderMAC: senderMAC, senderIP: senderIP,
            targetMAC: MACAddress(uncheckedBytes: [0, 0, 0, 0, 0, 0]), targetIP: target)
    }

    /// The 28 bytes on the wire (after the Ethernet header).
    public var encoded: [UInt8] {
        var out: [UInt8] = [0, 1, 0x08, 0x00, 6, 4, UInt8(operation >> 8), UInt8(operation & 0xff)]
        out += senderMAC.bytes + senderIP.bytes + targetMAC.bytes + targetIP.bytes
        return out
    }

    /// Decodes an Ethernet/IPv4 ARP packet; nil for anything else or too short.
    public static func decode(_ b: [UInt8]) -> ARPPacket? {
        guard b.count >= 28, b[0] == 0, b[1] == 1, b[2] == 0x08, b[3] == 0x00, b[4] == 6, b[5] == 4 else { return nil }
        guard let senderIP = IPAddress(bytes: Array(b[14..<18])), let targetIP = IPAddress(bytes: Array(b[24..<28])) else {
            return nil
        }
        return ARPPacket(
            operation: UInt16(b[6]) << 8 | UInt16(b[7]), senderMAC: MACAddress(uncheckedBytes: Array(b[8..<14])), senderIP: senderIP,
            targetMAC: MACAddress(uncheckedBytes: Array(b[18..<24])), targetIP: targetIP)
    }
}

/// An ICMP or ICMPv6 echo request or reply: the 8-byte header and a payload.
public struct ICMPEcho: Sendable, Hashable {
    /// IPv4 ICMP or ICMPv6: the type numbers differ.
    public var ipv6: Bool
    /// A request (type 8 / 128) or a reply (type 0 / 129).
    public var isReply: Bool
    /// The identifier (a datagram socket's kernel overwrites it with the socket's id).
    public var identifier: UInt16
    /// The sequence number: which round of discovery sent it.
    public var sequence: UInt16
    /// The data after the header.
    public var payload: [UInt8]

    /// Builds an echo message.
    public init(ipv6: Bool, isReply: Bool, identifier: UInt16, sequence: UInt16, payload: [UInt8] = []) {
        self.ipv6 = ipv6
        self.isReply = isReply
        self.identifier = identifier
        self.sequence = sequence
        self.payload = payload
    }

    var type: UInt8 { ipv6 ? (isReply ? 129 : 128) : (isReply ? 0 : 8) }

    /// The message on the wire. IPv4 carries its checksum; for ICMPv6 the
    /// checksum covers a pseudo-header the kernel knows and fills in (raw
    /// and datagram ICMPv6 sockets both do), so it is left zero.
    public var encoded: [UInt8] {
        var out: [UInt8] = [type, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)]
        out += payload
        if !ipv6 {
            let sum = Self.checksum(out)
            out[2] = UInt8(sum >> 8)
            out[3] = UInt8(sum & 0xff)
        }
        return out
    }

    /// Decodes an ICMP message (without an IP header); nil unless it is an
    /// echo request or reply of the family asked for, or when an IPv4
    /// checksum is wrong.
    public static func decode(_ b: [UInt8], ipv6: Bool) -> ICMPEcho? {
        guard b.count >= 8, b[1] == 0 else { return nil }
        let isReply: Bool
        switch (ipv6, b[0]) {
        case (false, 0), (true, 129): isReply = true
        case (false, 8), (true, 128): isReply = false
        default: return nil
        }
        if !ipv6 && checksum(b) != 0 { return nil }
        return ICMPEcho(
            ipv6: ipv6, isReply: isReply, identifier: UInt16(b[4]) << 8 | UInt16(b[5]), sequence: UInt16(b[6]) << 8 | UInt16(b[7]),
            payload: Array(b[8...]))
    }

    /// What a raw IPv4 ICMP socket delivers: the IP header, then ICMP. The
    /// sender and the echo message; nil for anything but an ICMP echo.
    public static func decodeIPv4Packet(_ b: [UInt8]) -> (source: IPAddress, echo: ICMPEcho)? {
        guard b.count >= 20, b[0] >> 4 == 4, b[9] == 1 else { return nil }
        let headerLength = Int(b[0] & 0x0f) * 4
        guard headerLength >= 20, b.count >= headerLength + 8, let source = IPAddress(bytes: Array(b[12..<16])),
            let echo = decode(Array(b[headerLength...]), ipv6: false)
        else { return nil }
        return (source, echo)
    }

    /// The Internet checksum (RFC 1071): the ones' complement of the ones'
    /// complement sum of 16-bit words. Zero over a message whose checksum is right.
    public static func checksum(_ b: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < b.count {
            sum += UInt32(b[index]) << 8 | UInt32(b[index + 1])
            index += 2
        }
        if index < b.count { sum += UInt32(b[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

/// Organisations by MAC address prefix (the IEEE's OUI registry), read from
/// Debian's ieee-data `oui.txt` or nmap's `nmap-mac-prefixes`. Prefixes of
/// 24, 28 and 36 bits are kept (MA-L, MA-M, MA-S); the longest match wins.
public struct MACVendors: Sendable {
    /// Prefix (hex digits, uppercase) → organisation.
    var byPrefix: [String: String] = [:]
    /// The prefix lengths present, in hex digits, longest first.
    var lengths: [Int] = []

    /// An empty list: every lookup is nil.
    public init() {}

    /// How many prefixes were read.
    public var count: Int { byPrefix.count }

    /// Parses either format; lines of neither are skipped.
    /// - nmap: `000000 Xerox` (6, 7 or 9 hex digits, a space, the name);
    /// - ieee-data: `00-00-00   (hex)\t\tXerox Corporation` (the `(base 16)` lines repeat it and are skipped).
    public static func parse(_ text: String) -> MACVendors {
        var vendors = MACVendors()
        var lengths: Set<Int> = []
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0d }
        for line in text.utf8.split(separator: 0x0a) {
            // Tokens: the prefix, then "(hex)" in ieee-data's form, then the name.
            guard let start = line.firstIndex(where: { !isBlank($0) }), line[start] != UInt8(ascii: "#") else { continue }
            let rest = line[start...]
            guard let prefixEnd = rest.firstIndex(where: isBlank) else { continue }
            var prefixBytes = Array(rest[..<prefixEnd].filter { $0 != UInt8(ascii: "-") })
            var nameStart = rest[prefixEnd...].firstIndex { !isBlank($0) } ?? rest.endIndex
            let hexMarker = Array("(hex)".utf8)
            if rest[nameStart...].starts(with: hexMarker) {
                let after = rest.index(nameStart, offsetBy: hexMarker.count)
                nameStart = rest[after...].firstIndex { !isBlank($0) } ?? rest.endIndex
            } else if line.contains(UInt8(ascii: "(")) && rest[nameStart...].starts(with: Array("(base".utf8)) {
                continue  // ieee-data repeats each entry as "000000     (base 16)\t\tName"
            }
            var nameEnd = rest.endIndex
            while nameEnd > nameStart, isBlank(rest[rest.index(before: nameEnd)]) { nameEnd = rest.index(before: nameEnd) }
            guard nameStart < nameEnd else { continue }
            prefixBytes = prefixBytes.map { $0 >= 0x61 && $0 <= 0x66 ? $0 - 0x20 : $0 }  // a-f to A-F
            guard [6, 7, 9].contains(prefixBytes.count),
                prefixBytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) })
            else { continue }
            let prefix = String(decoding: prefixBytes, as: UTF8.self)
            if vendors.byPrefix[prefix] == nil { vendors.byPrefix[prefix] = String(decoding: rest[nameStart..<nameEnd], as: UTF8.self) }
            lengths.insert(prefixBytes.count)
        }
        vendors.lengths = lengths.sorted(by: >)
        return vendors
    }

    /// The organisation registered for `mac`'s prefix, or nil.
    public func vendor(of mac: MACAddress) -> String? {
        let hex = mac.description.filter { $0 != ":" }.uppercased()
        for length in lengths {
            if let name = byPrefix[String(hex.prefix(length))] { return name }
        }
        return nil
    }
}
