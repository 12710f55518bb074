import PortcullisCore
import Testing

@Suite("Host discovery: ARP, ICMP and ICMPv6 codecs, neighbour and link dumps, OUI lists, routes")
struct HostDiscoveryWireTests {
    static let mac = MACAddress(bytes: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56])!

    @Test("An ARP request has RFC 826's 28 bytes; a reply decodes to its sender")
    func arp() throws {
        let request = ARPPacket.whoHas(
            try #require(IPAddress(parsing: "10.79.0.10")), from: Self.mac, try #require(IPAddress(parsing: "10.79.0.1")))
        #expect(
            request.encoded
                == TestFiles.hex(
                    """
                    0001 0800 0604 0001  525400123456 0a4f0001  000000000000 0a4f000a
                    """))
        // A reply from 10.79.0.10 (de:a0:81:ce:92:63) to 10.79.0.1, as an AF_PACKET SOCK_DGRAM socket delivers it,
        // with the Ethernet padding a short frame carries.
        let wire = TestFiles.hex("0001 0800 0604 0002  dea081ce9263 0a4f000a  525400123456 0a4f0001") + Array(repeating: 0, count: 18)
        let reply = try #require(ARPPacket.decode(wire))
        #expect(reply.operation == ARPPacket.reply)
        #expect(reply.senderIP == IPAddress(parsing: "10.79.0.10"))
        #expect(reply.senderMAC.description == "de:a0:81:ce:92:63")
        #expect(reply.targetIP == IPAddress(parsing: "10.79.0.1"))
        #expect(ARPPacket.decode(request.encoded) == request)
        // Not Ethernet/IPv4, or too short: nothing.
        var other = wire
        other[3] = 0xdd
        #expect(ARPPacket.decode(other) == nil)
        for cut in 0..<28 { #expect(ARPPacket.decode(Array(wire.prefix(cut))) == nil) }
    }

    @Test("ICMP echo carries the RFC 1071 checksum; a reply decodes, a corrupted one does not")
    func icmp() throws {
        let request = ICMPEcho(ipv6: false, isReply: false, identifier: 1, sequence: 1)
        #expect(request.encoded == [0x08, 0x00, 0xf7, 0xfd, 0x00, 0x01, 0x00, 0x01])
        #expect(ICMPEcho.checksum(request.encoded) == 0)
        let withPayload = ICMPEcho(ipv6: false, isReply: true, identifier: 0x1234, sequence: 2, payload: Array("portcullis".utf8))
        let decoded = try #require(ICMPEcho.decode(withPayload.encoded, ipv6: false))
        #expect(decoded == withPayload)
        var corrupted = withPayload.encoded
        corrupted[9] ^= 0x01
        #expect(ICMPEcho.decode(corrupted, ipv6: false) == nil)
        // A raw socket's delivery: a 20-byte IPv4 header (protocol 1, from 10.79.0.10), then the reply.
        let header = TestFiles.hex("4500 0026 0000 4000 4001 0000 0a4f000a 0a4f0001")
        let packet = try #require(ICMPEcho.decodeIPv4Packet(header + withPayload.encoded))
        #expect(packet.source == IPAddress(parsing: "10.79.0.10"))
        #expect(packet.echo.identifier == 0x1234 && packet.echo.isReply)
        // Destination unreachable (type 3) is not an echo.
        #expect(ICMPEcho.decode([3, 0, 0xfc, 0xff, 0, 0, 0, 0], ipv6: false) == nil)
        #expect(ICMPEcho.decodeIPv4Packet(Array(header.prefix(19))) == nil)
    }

    @Test("ICMPv6 echo uses types 128 and 129; the kernel fills its checksum")
    func icmpv6() throws {
        let request = ICMPEcho(ipv6: true, isReply: false, identifier: 0xbeef, sequence: 3)
        #expect(request.encoded == [128, 0, 0, 0, 0xbe, 0xef, 0, 3])
        let reply = try #require(ICMPEcho.decode([129, 0, 0x12, 0x34, 0xbe, 0xef, 0, 3, 1, 2], ipv6: true))
        #expect(reply.isReply && reply.identifier == 0xbeef && reply.sequence == 3 && reply.payload == [1, 2])
        // An IPv4 echo reply's type (0) means nothing in ICMPv6; neighbour solicitation (135) is not an echo.
        #expect(ICMPEcho.decode([0, 0, 0, 0, 0, 1, 0, 1], ipv6: true) == nil)
        #expect(ICMPEcho.decode([135, 0, 0, 0, 0, 0, 0, 0], ipv6: true) == nil)
    }

    /// Recorded from a lab namespace (`ip neigh`: 10.79.0.10 lladdr 4a:ea:cf:ae:27:ab REACHABLE,
    /// 10.79.0.20 lladdr 06:2e:a1:d3:e2:3e STALE, both on ifindex 2), then NLMSG_DONE.
    static let neighbourDump = TestFiles.hex(
        """
        4c000000 1c00 0200 01000000 c06d0000
          02 000000 02000000 0200 00 01
          0800 0100 0a4f000a
          0a00 0200 4aeacfae27ab 0000
          0800 0400 04000000
          1400 0300 08090000e6120000e612000001000000
        4c000000 1c00 0200 01000000 c06d0000
          02 000000 02000000 0400 00 01
          0800 0100 0a4f0014
          0a00 0200 062ea1d3e23e 0000
          0800 0400 04000000
          1400 0300 e6120000e61200004608000000000000
        14000000 0300 0200 01000000 c06d0000 00000000
        """)

    @Test("RTM_NEWNEIGH: address, MAC, interface and state; only REACHABLE counts as up")
    func neighbours() throws {
        let reply = RouteNetlinkWire.decode(Self.neighbourDump)
        #expect(reply.isDone)
        #expect(reply.neighbours.count == 2)
        let first = try #require(reply.neighbours.first)
        #expect(first.address == IPAddress(parsing: "10.79.0.10"))
        #expect(MACAddress(bytes: first.hardwareAddress)?.description == "4a:ea:cf:ae:27:ab")
        #expect(first.interfaceIndex == 2 && first.state == 0x02 && first.isReachable)
        #expect(reply.neighbours[1].state == 0x04 && !reply.neighbours[1].isReachable)
        #expect(RouteNetlinkWire.neighbourDumpRequest(sequence: 9).count == 28)
        // Every truncation decodes without a crash, and never invents an entry.
        for cut in 0..<Self.neighbourDump.count {
            #expect(RouteNetlinkWire.decode(Array(Self.neighbourDump.prefix(cut))).neighbours.count <= 2)
        }
    }

    @Test("RTM_NEWLINK: index, name, MAC, type and flags; RTM_NEWADDR keeps the prefix and interface")
    func links() throws {
        // ifinfomsg: family 0, type 1 (ARPHRD_ETHER), index 2, flags UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP; IFLA_IFNAME "s0", IFLA_ADDRESS.
        let link = TestFiles.hex(
            """
            34000000 1000 0200 01000000 00000000
              00 00 0100 02000000 43100100 00000000
              0700 0300 733000 00
              0a00 0100 c2b8eea2130a 0000
            """)
        let reply = RouteNetlinkWire.decode(link)
        let decoded = try #require(reply.links.first)
        #expect(decoded.index == 2 && decoded.name == "s0" && decoded.type == 1)
        #expect(MACAddress(bytes: decoded.hardwareAddress)?.description == "c2:b8:ee:a2:13:0a")
        #expect(decoded.canARP)
        var loopback = decoded
        loopback.type = 772
        #expect(!loopback.canARP)
        #expect(RouteNetlinkWire.linkDumpRequest(sequence: 1).count == 32)
        let address = RouteNetlinkWireTests.newAddress(family: 2, attributes: [(2, [10, 79, 0, 1])])
        let entry = try #require(RouteNetlinkWire.decode(address).subnetAddresses.first)
        #expect(entry.prefixLength == 24 && entry.interfaceIndex == 2)
        #expect(entry.subnetContains(try #require(IPAddress(parsing: "10.79.0.200"))))
        #expect(!entry.subnetContains(try #require(IPAddress(parsing: "10.79.1.1"))))
    }

    @Test("Routes: own addresses are local, a subnet's hosts are on its link (longest prefix), others beyond")
    func routes() throws {
        func ip(_ text: String) throws -> IPAddress { try #require(IPAddress(parsing: text)) }
        let addresses = [
            RouteNetlinkWire.SubnetAddress(address: try ip("127.0.0.1"), prefixLength: 8, interfaceIndex: 1),
            RouteNetlinkWire.SubnetAddress(address: try ip("10.0.0.1"), prefixLength: 8, interfaceIndex: 2),
            RouteNetlinkWire.SubnetAddress(address: try ip("10.79.0.1"), prefixLength: 24, interfaceIndex: 3),
            RouteNetlinkWire.SubnetAddress(address: try ip("192.0.2.7"), prefixLength: 32, interfaceIndex: 4),
            RouteNetlinkWire.SubnetAddress(address: try ip("fd77::1"), prefixLength: 64, interfaceIndex: 3),
        ]
        #expect(DiscoveryRoute.route(for: try ip("10.79.0.1"), addresses: addresses) == .local)
        #expect(DiscoveryRoute.route(for: try ip("127.0.0.2"), addresses: addresses) == .local)
        #expect(
            DiscoveryRoute.route(for: try ip("10.79.0.9"), addresses: addresses) == .link(interfaceIndex: 3, source: try ip("10.79.0.1")))
        #expect(DiscoveryRoute.route(for: try ip("10.1.2.3"), addresses: addresses) == .link(interfaceIndex: 2, source: try ip("10.0.0.1")))
        #expect(DiscoveryRoute.route(for: try ip("192.0.2.8"), addresses: addresses) == .beyond)
        #expect(DiscoveryRoute.route(for: try ip("fd77::9"), addresses: addresses) == .link(interfaceIndex: 3, source: try ip("fd77::1")))
        #expect(DiscoveryRoute.route(for: try ip("2001:db8::1"), addresses: addresses) == .beyond)
    }

    @Test("OUI lists: nmap's and ieee-data's formats, longest prefix first; junk lines skipped")
    func vendors() throws {
        let nmap = MACVendors.parse(
            """
            # $Id: nmap-mac-prefixes $
            525400 QEMU virtual NIC
            000C29 VMware
            0050C2 IEEE Registration Authority
            0050C2123 Longer Prefix Ltd
            ZZZZZZ Not hex
            12345 Too short
            """)
        #expect(nmap.count == 4)
        #expect(nmap.vendor(of: Self.mac) == "QEMU virtual NIC")
        #expect(nmap.vendor(of: try #require(MACAddress(parsing: "00:0c:29:aa:bb:cc"))) == "VMware")
        #expect(nmap.vendor(of: try #require(MACAddress(parsing: "00:50:C2:12:3F:00"))) == "Longer Prefix Ltd")
        #expect(nmap.vendor(of: try #require(MACAddress(parsing: "00-50-c2-99-00-00"))) == "IEEE Registration Authority")
        #expect(nmap.vendor(of: try #require(MACAddress(parsing: "02:00:00:00:00:01"))) == nil)
        let ieee = MACVendors.parse(
            "OUI/MA-L                                                    Organization\r\n"
                + "company_id                                                  Organization\r\n"
                + "                                                            Address\r\n\r\n"
                + "52-54-00   (hex)\t\tRealtek (UpTech? also reported)\r\n"
                + "525400     (base 16)\t\tRealtek (UpTech? also reported)\r\n"
                + "\t\t\t\tTaipei  \r\n")
        #expect(ieee.count == 1)
        #expect(ieee.vendor(of: Self.mac) == "Realtek (UpTech? also reported)")
        #expect(MACVendors.parse("").vendor(of: Self.mac) == nil)
        #expect(MACAddress(parsing: "52:54:00:12:34") == nil && MACAddress(parsing: "52:54:00:12:34:5g") == nil)
    }
}
