import Testing

@testable import PortcullisCore

@Suite struct SockDiagWireTests {
    @Test("A local-port filter is ss's bytecode for sport = A or sport = B, in an INET_DIAG_REQ_BYTECODE attribute")
    func localPortFilter() {
        #expect(SockDiagWire.localPortFilter([]) == [])
        // S_EQ (yes 8: go on; no 12: 4 past it), then the port in a second op.
        #expect(SockDiagWire.localPortFilter([6379]) == [11, 8, 12, 0, 0, 0, 0xEB, 0x18])
        // A match jumps over the rest (JMP: no = what follows + 4); a miss lands on the next test.
        #expect(
            SockDiagWire.localPortFilter([6379, 11211, 6379]) == [
                11, 8, 12, 0, 0, 0, 0xEB, 0x18, 1, 4, 12, 0, 11, 8, 12, 0, 0, 0, 0xCB, 0x2B,
            ])
        let request = SockDiagWire.dumpRequest(family: .ipv4, proto: .tcp, states: 1 << 1, sequence: 7, localPorts: [6379])
        #expect(request.count == SockDiagWire.requestSize + 4 + 8)
        #expect(Array(request[0..<4]) == [84, 0, 0, 0])  // nlmsg_len covers the attribute
        #expect(Array(request[72..<76]) == [12, 0, 1, 0])  // nla_len 12, nla_type 1
        #expect(SockDiagWire.dumpRequest(family: .ipv4, proto: .tcp, states: 2, sequence: 7).count == SockDiagWire.requestSize)
    }

    @Test func requestBytes() {
        let request = SockDiagWire.dumpRequest(family: .ipv6, proto: .tcp, states: 1 << 10, sequence: 7)
        let expected = TestFiles.hex(
            """
            48000000 1400 0103 07000000 00000000
            0a 06 00 00 00040000
            \(String(repeating: "00", count: 48))
            """)
        // nlmsghdr: len 72, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST|NLM_F_DUMP, seq 7, pid 0
        // inet_diag_req_v2: AF_INET6, IPPROTO_TCP, no extensions, pad, states = 1<<TCP_LISTEN
        // inet_diag_sockid: all zero (dump everything)
        #expect(request == expected)
        let raw = SockDiagWire.dumpRequest(family: .ipv4, proto: .raw, states: 1 << 7, sequence: 1)
        #expect(raw[16] == 2 && raw[17] == 255 && raw[19] == 255)  // sdiag_raw_protocol = IPPROTO_RAW: every protocol
    }

    @Test func decodesARecordedIPv6Dump() throws {
        let datagrams = try TestFiles.netlinkDatagrams("netlink/tcp6-listen.hex")
        let first = try SockDiagWire.decode(datagrams[0], proto: .tcp)
        #expect(!first.done && !first.interrupted && first.errorCode == nil)
        #expect(first.records.map(\.localPort) == [24103, 24104, 24105])
        #expect(first.records.map(\.inode) == [626558, 626559, 626560])
        #expect(first.records[0].localAddress.description == "::1")
        // INET_DIAG_SKV6ONLY, which /proc/net/tcp6 cannot tell.
        #expect(first.records.map(\.v6only) == [true, false, true])
        #expect(first.records.allSatisfy { $0.state == .listen && $0.family == .ipv6 })
        let last = try SockDiagWire.decode(datagrams[1], proto: .tcp)
        #expect(last.done && last.errorCode == nil && last.records.isEmpty)
    }

    @Test func decodesARecordedIPv4Dump() throws {
        let datagrams = try TestFiles.netlinkDatagrams("netlink/tcp4-listen.hex")
        var records: [SocketRecord] = []
        var done = false
        for datagram in datagrams {
            let batch = try SockDiagWire.decode(datagram, proto: .tcp)
            records += batch.records
            done = done || batch.done
        }
        #expect(done)
        let sandbox = try #require(records.first { $0.localPort == 2024 })
        #expect(sandbox.localAddress == .anyV4 && sandbox.inode == 1147 && sandbox.v6only == nil)
    }

    @Test("The inode digest of a dump equals the digest of its decoded sockets, whatever their order")
    func digestMatchesDecode() throws {
        for file in ["netlink/tcp4-listen.hex", "netlink/tcp6-listen.hex"] {
            var scanned = SockDiagWire.InodeDigest()
            var decoded = SockDiagWire.InodeDigest()
            var done = false
            for datagram in try TestFiles.netlinkDatagrams(file) {
                done = try SockDiagWire.digest(datagram, into: &scanned).done || done
                for record in try SockDiagWire.decode(datagram, proto: .tcp).records.reversed() { decoded.add(record.inode) }
            }
            #expect(done)
            #expect(scanned.count > 0)
            #expect(scanned == decoded)
        }
        var a = SockDiagWire.InodeDigest()
        var b = SockDiagWire.InodeDigest()
        a.add(1)
        a.add(2)
        b.add(1)
        b.add(3)
        #expect(a != b)
        var c = SockDiagWire.InodeDigest()
        c.add(2)
        c.add(1)
        #expect(a == c)
    }

    @Test func truncatedMessagesNameTheStructAndField() throws {
        let datagram = try TestFiles.netlinkDatagrams("netlink/tcp6-listen.hex")[0]
        #expect(throws: SockDiagWire.DecodeError.self) { try SockDiagWire.decode(Array(datagram[0..<100]), proto: .tcp) }
        do {
            _ = try SockDiagWire.decode(Array(datagram[0..<100]), proto: .tcp)
        } catch {
            #expect(error.structure == "nlmsghdr" && error.field == "nlmsg_len")
        }
        // A header that claims a message shorter than inet_diag_msg.
        var short = Array(datagram[0..<132])
        short[0] = 40
        do {
            _ = try SockDiagWire.decode(Array(short[0..<40]), proto: .tcp)
            Issue.record("expected a decode error")
        } catch {
            #expect(error.structure == "inet_diag_msg")
        }
        // An attribute whose length runs past its message.
        var badAttribute = Array(datagram[0..<132])
        badAttribute[16 + 72] = 200
        do {
            _ = try SockDiagWire.decode(badAttribute, proto: .tcp)
            Issue.record("expected a decode error")
        } catch {
            #expect(error.structure == "rtattr" && error.field == "rta_len")
        }
        // Every prefix either decodes or fails with a DecodeError: never a crash.
        for cut in 0..<datagram.count { _ = try? SockDiagWire.decode(Array(datagram[0..<cut]), proto: .tcp) }
    }

    @Test func doneCarryingAnErrorIsAnError() throws {
        // NLMSG_DONE whose payload is -ENOENT (as for a missing raw_diag module).
        let done = TestFiles.hex("14000000 0300 0200 07000000 00000000 feffffff")
        let batch = try SockDiagWire.decode(done, proto: .raw)
        #expect(batch.done && batch.errorCode == -2)
        let error = TestFiles.hex("24000000 0200 0000 07000000 00000000 f3ffffff" + String(repeating: "00", count: 16))
        #expect(try SockDiagWire.decode(error, proto: .tcp).errorCode == -13)
    }

    @Test func dumpInterruptedFlagIsReported() throws {
        var datagram = try TestFiles.netlinkDatagrams("netlink/tcp6-listen.hex")[0]
        datagram[6] |= 0x10  // NLM_F_DUMP_INTR on the first message
        #expect(try SockDiagWire.decode(datagram, proto: .tcp).interrupted)
    }
}
