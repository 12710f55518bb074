import Testing

@testable import PortcullisCore

/// SOCK_DESTROY and get-exact lookup requests, byte by byte, and their replies from hand-built datagrams.
@Suite struct SockDiagExactWireTests {
    /// Server side of 127.0.0.1:8080 <- 127.0.0.2:50001, established.
    static let established4 = SocketRecord(
        proto: .tcp, family: .ipv4, localAddress: IPAddress(v4: 127, 0, 0, 1), localPort: 8080,
        remoteAddress: IPAddress(v4: 127, 0, 0, 2), remotePort: 50001, stateCode: 1, inode: 4242, uid: 0)

    /// [::1]:443 listening, bound to interface 3.
    static let listener6 = SocketRecord(
        proto: .tcp, family: .ipv6, localAddress: IPAddress(parsing: "::1")!, localPort: 443,
        remoteAddress: .anyV6, remotePort: 0, stateCode: 10, inode: 7, uid: 0, interfaceIndex: 3)

    @Test("A SOCK_DESTROY request names the exact 4-tuple and the cookie, field by field")
    func destroyRequestBytes() {
        let request = SockDiagWire.destroyRequest(for: Self.established4, sequence: 9, cookie: 0x0000_0001_0000_2002)
        #expect(request.count == 72)
        // nlmsghdr: len 72, type 21 (SOCK_DESTROY), flags NLM_F_REQUEST|NLM_F_ACK, seq 9, pid 0.
        #expect(Array(request[0..<4]) == [72, 0, 0, 0])
        #expect(Array(request[4..<6]) == [21, 0])
        #expect(Array(request[6..<8]) == [0x05, 0])
        #expect(Array(request[8..<12]) == [9, 0, 0, 0])
        #expect(Array(request[12..<16]) == [0, 0, 0, 0])
        // inet_diag_req_v2: AF_INET, IPPROTO_TCP, no extensions, pad, states = 1 << TCP_ESTABLISHED.
        #expect(Array(request[16..<20]) == [2, 6, 0, 0])
        #expect(Array(request[20..<24]) == [2, 0, 0, 0])
        // inet_diag_sockid: sport 8080 and dport 50001 in network order.
        #expect(Array(request[24..<28]) == [0x1F, 0x90, 0xC3, 0x51])
        #expect(Array(request[28..<44]) == [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12))  // idiag_src
        #expect(Array(request[44..<60]) == [127, 0, 0, 2] + [UInt8](repeating: 0, count: 12))  // idiag_dst
        #expect(Array(request[60..<64]) == [0, 0, 0, 0])  // idiag_if
        #expect(Array(request[64..<68]) == [0x02, 0x20, 0, 0])  // idiag_cookie[0]: the low half
        #expect(Array(request[68..<72]) == [1, 0, 0, 0])  // idiag_cookie[1]: the high half
    }

    @Test("Without a cookie a destroy request carries INET_DIAG_NOCOOKIE; IPv6 addresses fill 16 bytes; the interface is kept")
    func destroyRequestNoCookieIPv6() {
        let request = SockDiagWire.destroyRequest(for: Self.listener6, sequence: 1, cookie: nil)
        #expect(request.count == 72)
        #expect(Array(request[16..<20]) == [10, 6, 0, 0])  // AF_INET6, IPPROTO_TCP
        #expect(Array(request[20..<24]) == [0, 4, 0, 0])  // 1 << TCP_LISTEN (10)
        #expect(Array(request[24..<28]) == [0x01, 0xBB, 0, 0])  // sport 443, dport 0
        #expect(Array(request[28..<44]) == [UInt8](repeating: 0, count: 15) + [1])  // ::1
        #expect(Array(request[44..<60]) == [UInt8](repeating: 0, count: 16))  // ::
        #expect(Array(request[60..<64]) == [3, 0, 0, 0])  // idiag_if
        #expect(Array(request[64..<72]) == [UInt8](repeating: 0xFF, count: 8))  // INET_DIAG_NOCOOKIE
    }

    @Test("A lookup is a get-exact SOCK_DIAG_BY_FAMILY: NLM_F_REQUEST only, no dump, no cookie")
    func lookupRequestBytes() {
        let request = SockDiagWire.lookupRequest(for: Self.established4, sequence: 3)
        let destroy = SockDiagWire.destroyRequest(for: Self.established4, sequence: 3, cookie: nil)
        #expect(request.count == 72)
        #expect(Array(request[4..<8]) == [20, 0, 1, 0])  // SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST
        #expect(Array(request[64..<72]) == [UInt8](repeating: 0xFF, count: 8))
        // Everything else is the destroy request's.
        #expect(Array(request[8...]) == Array(destroy[8...]))
    }

    /// An NLMSG_ERROR datagram answering sequence 5 with `code`, the request's header echoed (NLM_F_CAPPED).
    static func ack(_ code: Int32, sequence: UInt32 = 5) -> [UInt8] {
        var out: [UInt8] = []
        SockDiagWire.appendNative(&out, UInt32(36))
        SockDiagWire.appendNative(&out, UInt16(2))  // NLMSG_ERROR
        SockDiagWire.appendNative(&out, UInt16(0x100))  // NLM_F_CAPPED
        SockDiagWire.appendNative(&out, sequence)
        SockDiagWire.appendNative(&out, UInt32(1234))
        SockDiagWire.appendNative(&out, UInt32(bitPattern: code))
        return out + Array(SockDiagWire.destroyRequest(for: established4, sequence: sequence, cookie: 1)[0..<16])
    }

    /// A get-exact reply: one SOCK_DIAG_BY_FAMILY message for `established4`, cookie 0x1_0000_2002, with an INET_DIAG_SKV6ONLY attribute.
    static let foundReply: [UInt8] = TestFiles.hex(
        """
        60000000 1400 0000 05000000 d2040000
        02 01 00 00
        1f90 c351 7f000001 000000000000000000000000 7f000002 000000000000000000000000
        00000000 02200000 01000000
        00000000 00000000 00000000 e8030000 92100000
        05000b00 00000000
        """)

    @Test("Acks: 0 is success, a negative errno is the failure, the sequence is read from the header")
    func acks() throws {
        #expect(try SockDiagWire.decodeAck(Self.ack(0)) == .ok)
        #expect(try SockDiagWire.decodeAck(Self.ack(-2)) == .failed(errno: 2))  // ENOENT
        #expect(try SockDiagWire.decodeAck(Self.ack(-95)) == .failed(errno: 95))  // EOPNOTSUPP
        #expect(try SockDiagWire.decodeAck(Self.ack(-1)) == .failed(errno: 1))  // EPERM
        #expect(SockDiagWire.replySequence(Self.ack(0, sequence: 77)) == 77)
        #expect(SockDiagWire.replySequence([1, 2, 3]) == nil)
    }

    @Test("A lookup reply is the one socket, with its cookie; ENOENT is not found; other errnos are failures")
    func lookups() throws {
        let reply = try SockDiagWire.decodeLookup(Self.foundReply, proto: .tcp)
        guard case .found(let record) = reply else {
            Issue.record("expected a socket, got \(reply)")
            return
        }
        #expect(record.localAddress == IPAddress(v4: 127, 0, 0, 1) && record.localPort == 8080)
        #expect(record.remoteAddress == IPAddress(v4: 127, 0, 0, 2) && record.remotePort == 50001)
        #expect(record.state == .established && record.uid == 1000 && record.inode == 4242)
        #expect(record.cookie == 0x0000_0001_0000_2002)
        // The decoded reply names itself exactly: the destroy built from it carries its cookie.
        let destroy = SockDiagWire.destroyRequest(for: record, sequence: 1, cookie: record.cookie)
        #expect(Array(destroy[24..<72]) == Array(Self.foundReply[20..<68]))
        #expect(try SockDiagWire.decodeLookup(Self.ack(-2), proto: .tcp) == .notFound)
        #expect(try SockDiagWire.decodeLookup(Self.ack(-1), proto: .tcp) == .failed(errno: 1))
        #expect(try SockDiagWire.decodeLookup(Self.ack(-22), proto: .tcp) == .failed(errno: 22))
    }

    @Test("Dumped sockets carry the kernel's cookie")
    func dumpCarriesCookie() throws {
        let datagrams = try TestFiles.netlinkDatagrams("netlink/tcp4-listen.hex")
        let sandbox = try #require(try SockDiagWire.decode(datagrams[0], proto: .tcp).records.first { $0.localPort == 2024 })
        #expect(sandbox.cookie == 1)
    }

    @Test("Malformed or short replies are DecodeErrors naming the struct, never a crash")
    func malformed() {
        func ackError(_ bytes: [UInt8]) -> SockDiagWire.DecodeError? {
            do {
                _ = try SockDiagWire.decodeAck(bytes)
                return nil
            } catch { return error }
        }
        func lookupError(_ bytes: [UInt8]) -> SockDiagWire.DecodeError? {
            do {
                _ = try SockDiagWire.decodeLookup(bytes, proto: .tcp)
                return nil
            } catch { return error }
        }
        #expect(ackError([])?.field == "(size)")
        #expect(ackError(Array(Self.ack(0)[0..<10]))?.structure == "nlmsghdr")
        var short = Self.ack(0)
        short[0] = 8  // nlmsg_len shorter than the header
        #expect(ackError(short)?.field == "nlmsg_len")
        var long = Self.ack(0)
        long[0] = 200  // nlmsg_len past the end
        #expect(ackError(long)?.field == "nlmsg_len")
        var headerOnly = Array(Self.ack(0)[0..<16])
        headerOnly[0] = 16  // NLMSG_ERROR without its error field
        #expect(ackError(headerOnly)?.structure == "nlmsgerr")
        #expect(ackError(Self.ack(5))?.field == "error")  // a positive code is no errno
        #expect(ackError(Self.foundReply)?.field == "nlmsg_type")  // a socket where an ack was expected
        #expect(lookupError(Self.ack(0))?.structure == "nlmsgerr")  // an ack where a socket was expected
        var done = Self.ack(0)
        done[4] = 3  // NLMSG_DONE
        #expect(lookupError(done)?.field == "nlmsg_type")
        var truncated = Array(Self.foundReply[0..<56])
        truncated[0] = 56  // a message too short for inet_diag_msg
        #expect(lookupError(truncated)?.structure == "inet_diag_msg")
        var badFamily = Self.foundReply
        badFamily[16] = 7
        #expect(lookupError(badFamily)?.field == "idiag_family")
        var badAttribute = Self.foundReply
        badAttribute[88] = 40  // rta_len past the message
        #expect(lookupError(badAttribute)?.structure == "rtattr")
        // Every prefix of every valid reply, and bytes from a fixed generator: an answer or an error, never a trap.
        for reply in [Self.ack(0), Self.ack(-2), Self.foundReply] {
            for end in 0...reply.count {
                _ = try? SockDiagWire.decodeAck(Array(reply[0..<end]))
                _ = try? SockDiagWire.decodeLookup(Array(reply[0..<end]), proto: .tcp)
            }
        }
        var state: UInt64 = 0x1234_5678
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for _ in 0..<Int(state >> 58) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 33))
            }
            if bytes.count >= 4 { bytes[0] = UInt8(bytes.count) & 0xFC | 0x10 }  // a plausible nlmsg_len, sometimes past the end
            _ = try? SockDiagWire.decodeAck(bytes)
            _ = try? SockDiagWire.decodeLookup(bytes, proto: .tcp)
        }
    }
}
