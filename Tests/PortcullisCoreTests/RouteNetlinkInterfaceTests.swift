import PortcullisCore
import Testing

@Suite("NETLINK_ROUTE interface replies")
struct RouteNetlinkInterfaceTests {
    /// One RTM_NEWLINK message: nlmsghdr, ifinfomsg (index, flags), then the attributes given.
    static func newLink(index: UInt32, flags: UInt32, attributes: [(UInt16, [UInt8])]) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
        var body: [UInt8] = [0, 0] + le(UInt16(1)) + le(index) + le(flags) + le(UInt32(0))
        for (type, data) in attributes {
            body += le(UInt16(4 + data.count)) + le(type) + data
            while body.count % 4 != 0 { body.append(0) }
        }
        return le(UInt32(16 + body.count)) + le(UInt16(16)) + le(UInt16(2)) + le(UInt32(1)) + le(UInt32(0)) + body
    }

    @Test("Links: index, flags and the NUL-terminated IFLA_IFNAME; the request is 32 bytes of RTM_GETLINK dump")
    func decodesLinks() {
        let lo = Self.newLink(index: 1, flags: 0x49, attributes: [(4, [0, 0, 1, 0]), (3, Array("lo".utf8) + [0])])
        let eth = Self.newLink(index: 7, flags: 0x1003, attributes: [(3, Array("eth0.100".utf8) + [0])])
        let nameless = Self.newLink(index: 9, flags: 0, attributes: [(4, [0, 0, 0, 0])])
        let done: [UInt8] = [20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let reply = RouteNetlinkWire.decode(lo + eth + nameless + done)
        #expect(reply.links.map(\.name) == ["lo", "eth0.100"] && reply.links.map(\.index) == [1, 7])
        #expect(reply.links.map(\.flags) == [0x49, 0x1003] && reply.isDone)
        let request = RouteNetlinkWire.linkDumpRequest(sequence: 5)
        #expect(request.count == 32 && request[4] == 18 && request[6] == 0x01 && request[7] == 0x03 && request[8] == 5)
        // Cut anywhere, a link message decodes to nothing or to the whole link, never a crash.
        for cut in 0..<eth.count { #expect(RouteNetlinkWire.decode(Array(eth.prefix(cut))).links.isEmpty) }
    }

    @Test("Address entries carry the interface index, the prefix length and IFA_BROADCAST")
    func decodesAddressEntries() throws {
        // newAddress writes prefix length 24 and interface index 2.
        let v4 = RouteNetlinkWireTests.newAddress(family: 2, attributes: [(1, [10, 0, 0, 1]), (2, [10, 0, 0, 1]), (4, [10, 0, 0, 255])])
        let v6 = RouteNetlinkWireTests.newAddress(family: 10, attributes: [(1, [0xfe, 0x80] + Array(repeating: 0, count: 13) + [5])])
        let reply = RouteNetlinkWire.decode(v4 + v6)
        #expect(reply.entries.map(\.interfaceIndex) == [2, 2])
        #expect(
            reply.entries.map(\.address) == [
                InterfaceAddress(address: IPAddress(v4: 10, 0, 0, 1), prefixLength: 24, broadcast: IPAddress(v4: 10, 0, 0, 255)),
                InterfaceAddress(address: try #require(IPAddress(parsing: "fe80::5")), prefixLength: 24),
            ])
        #expect(reply.addresses == reply.entries.map(\.address.address))
    }
}
