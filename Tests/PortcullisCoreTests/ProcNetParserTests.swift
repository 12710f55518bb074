import Testing

@testable import PortcullisCore

/// Parses /proc/net tables captured from Linux 6.18 (x86_64) while a Python
/// process held a known mix of sockets; Fixtures/procnet/README-ss-at-capture.txt
/// is `ss -tuwanpe` from the same moment, the oracle for these expectations.
@Suite struct ProcNetParserTests {
    func parse(_ name: String, _ proto: TransportProtocol, _ family: AddressFamily) throws -> ProcNetParser.Result {
        ProcNetParser.parse(try TestFiles.fixture("procnet/\(name)"), proto: proto, family: family, name: name, byteOrder: .little)
    }

    func find(_ records: [SocketRecord], port: UInt16) throws -> SocketRecord {
        try #require(records.first { $0.localPort == port })
    }

    @Test func tcp4() throws {
        let result = try parse("tcp", .tcp, .ipv4)
        #expect(result.diagnostics.isEmpty)
        #expect(result.records.count == 7)
        let wildcard = try find(result.records, port: 24002)
        #expect(wildcard.localAddress == .anyV4 && wildcard.inode == 623985 && wildcard.state == .listen && wildcard.isListening)
        let loopback = try find(result.records, port: 24001)
        #expect(loopback.localAddress.description == "127.0.0.1" && loopback.inode == 623984)
        let timeWait = try find(result.records, port: 46598)
        #expect(timeWait.state == .timeWait && timeWait.inode == 0 && timeWait.remotePort == 24006)
        let client = try find(result.records, port: 55052)
        #expect(client.state == .established && client.remoteAddress.description == "127.0.0.1" && client.inode == 623990)
        #expect(!client.isListening)
        #expect(result.records.allSatisfy { $0.v6only == nil })  // the table does not carry it
    }

    @Test func tcp6() throws {
        let result = try parse("tcp6", .tcp, .ipv6)
        #expect(result.diagnostics.isEmpty && result.records.count == 7)
        let loopback = try find(result.records, port: 24003)
        #expect(loopback.localAddress.description == "::1" && loopback.inode == 623986 && loopback.family == .ipv6)
        let dual = try find(result.records, port: 24004)
        #expect(dual.localAddress == .anyV6 && dual.inode == 623987)
        let timeWait = try find(result.records, port: 53806)
        #expect(timeWait.state == .timeWait && timeWait.remoteAddress.description == "::1")
    }

    @Test func udp() throws {
        let v4 = try parse("udp", .udp, .ipv4)
        #expect(v4.diagnostics.isEmpty && v4.records.count == 3)
        #expect(try find(v4.records, port: 24010).isListening)  // bound, unconnected
        let connected = try find(v4.records, port: 24014)
        #expect(!connected.isListening && connected.stateName == "connected" && connected.remotePort == 24010)
        let v6 = try parse("udp6", .udp, .ipv6)
        #expect(v6.records.count == 3)
        #expect(try find(v6.records, port: 24012).localAddress.isLoopback)
        #expect(try find(v6.records, port: 24013).stateName == "unconnected")
    }

    @Test func rawCarriesTheProtocolInThePortField() throws {
        let v4 = try parse("raw", .raw, .ipv4)
        let icmp = try #require(v4.records.first)
        #expect(v4.records.count == 1 && icmp.rawProtocol == 1 && icmp.inode == 624001 && icmp.isListening)
        let v6 = try parse("raw6", .raw, .ipv6)
        #expect(v6.records.first?.rawProtocol == 58)  // ICMPv6
    }

    @Test func bigEndianTablesReadWithTheirByteOrder() {
        // The same socket as a big-endian kernel prints it: words in network order.
        let text =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            + "   0: 7F000001:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0\n"
        let result = ProcNetParser.parse(Array(text.utf8), proto: .tcp, family: .ipv4, name: "tcp", byteOrder: .big)
        #expect(result.records.first?.localAddress.description == "127.0.0.1")
        #expect(result.records.first?.localPort == 22)
    }

    @Test func malformedLinesBecomeDiagnosticsNamingTheLine() throws {
        var bytes = try TestFiles.fixture("procnet/tcp")
        bytes += Array("   9: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n".utf8)
        bytes += Array("\u{1b}[31mgarbage\n".utf8)
        let result = ProcNetParser.parse(bytes, proto: .tcp, family: .ipv4, name: "/proc/net/tcp", byteOrder: .little)
        #expect(result.records.count == 7)
        #expect(result.diagnostics.count == 2)
        #expect(result.diagnostics[0].message.hasPrefix("/proc/net/tcp:9: malformed socket line skipped"))
        #expect(!result.diagnostics[1].message.contains("\u{1b}"))  // escaped, not echoed raw
    }

    @Test func truncatedInputNeverCrashes() throws {
        let bytes = try TestFiles.fixture("procnet/tcp6")
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let result = ProcNetParser.parse(Array(bytes[0..<cut]), proto: .tcp, family: .ipv6, name: "tcp6", byteOrder: .little)
            #expect(result.records.count <= 7)
        }
        let wrongFamily = ProcNetParser.parse(try TestFiles.fixture("procnet/tcp6"), proto: .tcp, family: .ipv4, name: "tcp6")
        #expect(wrongFamily.records.isEmpty && wrongFamily.diagnostics.count == 7)
        let notATable = ProcNetParser.parse(Array("hello\nworld\n".utf8), proto: .tcp, family: .ipv4, name: "x")
        #expect(notATable.diagnostics.first?.message.contains("no column header") == true)
    }
}

@Suite struct PacketSocketParserTests {
    @Test func parsesACapturedTable() throws {
        let (sockets, diagnostics) = ProcNetParser.parsePacket(try TestFiles.fixture("procnet/packet"), name: "packet")
        #expect(diagnostics.isEmpty)
        #expect(sockets.count == 2)
        #expect(sockets[0].capturesEveryProtocol && sockets[0].type == 3 && sockets[0].interfaceIndex == 0 && sockets[0].inode == 828651)
        #expect(sockets[1].ethertypeName == "ARP" && sockets[1].interfaceIndex == 1 && sockets[1].type == 2)
    }

    @Test func malformedLinesAreReported() {
        let text = "sk RefCnt Type Proto Iface R Rmem User Inode\nffff 3 3 zz 0 1 0 0 5\nshort\n"
        let (sockets, diagnostics) = ProcNetParser.parsePacket(Array(text.utf8), name: "/proc/net/packet")
        #expect(sockets.isEmpty && diagnostics.count == 2)
        #expect(diagnostics[0].message.hasPrefix("/proc/net/packet:2:"))
    }
}
