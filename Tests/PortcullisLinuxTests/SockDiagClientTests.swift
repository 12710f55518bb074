import Foundation
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// Replays recorded kernel datagrams and records the requests sent.
final class ReplayTransport: NetlinkTransport, @unchecked Sendable {
    var replies: [[[UInt8]]]  // one list of datagrams per dump attempt
    var requests: [[UInt8]] = []
    var attempt = -1
    var receiveError: Errno?

    init(_ replies: [[[UInt8]]]) { self.replies = replies }

    func send(_ request: [UInt8]) throws(Errno) {
        requests.append(request)
        attempt += 1
    }

    func receive() throws(Errno) -> [UInt8] {
        if let receiveError { throw receiveError }
        guard attempt < replies.count, !replies[attempt].isEmpty else { return [] }
        return replies[attempt].removeFirst()
    }
}

enum LinuxFixtures {
    static let core = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("PortcullisCoreTests/Fixtures")

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: core.appendingPathComponent(path))) }

    static func datagrams(_ path: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for line in String(decoding: try bytes(path), as: UTF8.self).split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { continue }
            if t == "datagram" {
                out.append([])
                continue
            }
            let digits = Array(t)
            out[out.count - 1] += stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
        }
        return out
    }
}

@Suite struct SockDiagClientTests {
    func client(_ transport: ReplayTransport) -> SockDiagClient {
        SockDiagClient(transport: { () throws(Errno) -> any NetlinkTransport in transport })
    }

    @Test func dumpsAndSendsTheRightRequest() throws {
        let transport = ReplayTransport([try LinuxFixtures.datagrams("netlink/tcp6-listen.hex")])
        var client = client(transport)
        let records = try client.dump(proto: .tcp, family: .ipv6, states: SocketState.listen.mask)
        #expect(records.map(\.localPort) == [24103, 24104, 24105])
        let request = try #require(transport.requests.first)
        #expect(request.count == 72)
        #expect(request[16] == 10 && request[17] == 6)  // AF_INET6, IPPROTO_TCP
        #expect(Array(request[20..<24]) == [0, 4, 0, 0])  // 1 << TCP_LISTEN, little-endian
    }

    @Test func interruptedDumpIsRetried() throws {
        var interrupted = try LinuxFixtures.datagrams("netlink/tcp6-listen.hex")
        interrupted[0][6] |= 0x10  // NLM_F_DUMP_INTR
        let clean = try LinuxFixtures.datagrams("netlink/tcp6-listen.hex")
        let transport = ReplayTransport([interrupted, clean])
        var client = client(transport)
        let records = try client.dump(proto: .tcp, family: .ipv6, states: SocketState.listen.mask)
        #expect(records.count == 3)
        #expect(transport.requests.count == 2)
    }

    @Test func persistentInterruptionIsAnErrorNotAPartialTable() throws {
        var interrupted = try LinuxFixtures.datagrams("netlink/tcp6-listen.hex")
        interrupted[0][6] |= 0x10
        let transport = ReplayTransport(Array(repeating: interrupted, count: 10))
        var client = client(transport)
        #expect { try client.dump(proto: .tcp, family: .ipv6, states: 0xffff_ffff) } throws: { error in
            (error as? SockDiagError)?.code == .interrupted && "\(error)".contains("NLM_F_DUMP_INTR")
        }
        #expect(transport.requests.count == client.maxAttempts)
    }

    @Test func errorInDoneIsAnErrorNotAnEmptyTable() throws {
        let done = [[UInt8]]([[0x14, 0, 0, 0, 3, 0, 2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0xf3, 0xff, 0xff, 0xff]])  // -EACCES
        var client = client(ReplayTransport([done]))
        #expect { try client.dump(proto: .udp, family: .ipv4, states: 0xffff_ffff) } throws: { error in
            guard let error = error as? SockDiagError else { return false }
            return error.code == .kernel && error.underlying == .permissionDenied && error.description.contains("udp/ipv4")
        }
    }

    @Test func transportFailuresAndEarlyEOF() throws {
        let failing = ReplayTransport([[]])
        failing.receiveError = .noBufferSpace
        var client1 = client(failing)
        #expect(throws: SockDiagError.self) { try client1.dump(proto: .tcp, family: .ipv4, states: 1) }
        var client2 = client(ReplayTransport([[]]))
        #expect { try client2.dump(proto: .tcp, family: .ipv4, states: 1) } throws: { error in
            "\(error)".contains("without NLMSG_DONE")
        }
        let truncated = try LinuxFixtures.datagrams("netlink/tcp6-listen.hex")[0].prefix(100)
        var client3 = client(ReplayTransport([[Array(truncated)]]))
        #expect { try client3.dump(proto: .tcp, family: .ipv6, states: 1) } throws: { error in
            (error as? SockDiagError)?.code == .malformed && "\(error)".contains("nlmsghdr.nlmsg_len")
        }
    }
}
