import Foundation
import PortcullisTestSupport
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// A transport scripted per dump attempt: each receive gives the next
/// datagram or throws the next error, as a kernel under churn does.
final class ScriptedTransport: NetlinkTransport, @unchecked Sendable {
    enum Step {
        case datagram([UInt8])
        case failure(Errno)
    }
    var attempts: [[Step]]
    var requests: [[UInt8]] = []
    var receives = 0
    private var attempt = -1
    /// What every attempt past the script gives.
    var otherwise: [Step]

    init(_ attempts: [[Step]], otherwise: [Step] = []) {
        self.attempts = attempts
        self.otherwise = otherwise
    }

    func send(_ request: [UInt8]) throws(Errno) {
        requests.append(request)
        attempt += 1
        if attempt >= attempts.count { attempts.append(otherwise) }
    }

    func receive() throws(Errno) -> [UInt8] {
        receives += 1
        guard attempt >= 0, !attempts[attempt].isEmpty else { return [] }
        switch attempts[attempt].removeFirst() {
        case .datagram(let bytes): return bytes
        case .failure(let error): throw error
        }
    }
}

@Suite struct SockDiagFaultTests {
    static func listen() throws -> [[UInt8]] { try LinuxFixtures.datagrams("netlink/tcp6-listen.hex") }
    static func interrupted() throws -> [[UInt8]] {
        var datagrams = try listen()
        datagrams[0][6] |= 0x10  // NLM_F_DUMP_INTR
        return datagrams
    }

    func client(_ transport: ScriptedTransport) -> SockDiagClient {
        SockDiagClient(transport: { () throws(Errno) -> any NetlinkTransport in transport })
    }

    @Test("ENOBUFS on the first try: the rest of that dump is drained, then it is done again and the table is whole")
    func overrunOnceIsRetried() throws {
        let clean = try Self.listen().map(ScriptedTransport.Step.datagram)
        // The error comes first, the queued replies after it (as recvmsg reports sk_err before the queue).
        let transport = ScriptedTransport([[.failure(.noBufferSpace)] + clean, clean])
        var client = client(transport)
        let records = try client.dump(proto: .tcp, family: .ipv6, states: SocketState.listen.mask)
        #expect(records.map(\.localPort) == [24103, 24104, 24105])
        #expect(transport.requests.count == 2)
        // The first try was read to NLMSG_DONE: a reused socket starts clean.
        #expect(transport.receives == 1 + 2 * clean.count)
    }

    @Test("ENOBUFS on every try: a SockDiagError naming the overflow, never an empty or partial table")
    func overrunEveryTimeIsAnError() throws {
        let clean = try Self.listen().map(ScriptedTransport.Step.datagram)
        let transport = ScriptedTransport([], otherwise: [.datagram(try Self.listen()[0]), .failure(.noBufferSpace)] + clean.dropFirst())
        var client = client(transport)
        #expect { try client.dump(proto: .tcp, family: .ipv6, states: SocketState.listen.mask) } throws: { error in
            guard let error = error as? SockDiagError else { return false }
            return error.code == .overrun && error.underlying == .noBufferSpace && "\(error)".contains("tcp/ipv6")
                && "\(error)".contains("receive buffer overflowed")
                && "\(error)".contains("errno \(Errno.noBufferSpace.rawValue)")
        }
        #expect(transport.requests.count == client.maxAttempts)
    }

    @Test("A transport that only ever fails with ENOBUFS is not read forever")
    func overrunForeverEnds() throws {
        let transport = ScriptedTransport([], otherwise: Array(repeating: .failure(.noBufferSpace), count: 1000))
        var client = client(transport)
        #expect { try client.dump(proto: .udp, family: .ipv4, states: 0xffff_ffff) } throws: { error in
            (error as? SockDiagError)?.code == .overrun
        }
        #expect(transport.receives == SockDiagClient.overrunsInARow)
    }

    @Test("NLM_F_DUMP_INTR on the first try only: one more dump, whole; on every try: .interrupted after maxAttempts")
    func interruptedFirstOrAlways() throws {
        let first = ScriptedTransport(
            [try Self.interrupted().map(ScriptedTransport.Step.datagram), try Self.listen().map(ScriptedTransport.Step.datagram)])
        var client1 = client(first)
        #expect(try client1.dump(proto: .tcp, family: .ipv6, states: SocketState.listen.mask).count == 3)
        #expect(first.requests.count == 2)

        let always = ScriptedTransport([], otherwise: try Self.interrupted().map(ScriptedTransport.Step.datagram))
        var client2 = client(always)
        client2.maxAttempts = 3
        #expect { try client2.capture(proto: .tcp, family: .ipv6, states: SocketState.listen.mask) } throws: { error in
            guard let error = error as? SockDiagError else { return false }
            return error.code == .interrupted && "\(error)".contains("NLM_F_DUMP_INTR 3 times")
        }
        #expect(always.requests.count == 3)
    }

    func collector(_ transport: ScriptedTransport, source: SocketSource, owners: Bool = false) -> InventoryCollector {
        var options = InventoryCollector.Options()
        options.source = source
        options.namespaces = .own
        options.resolveOwners = owners
        options.query = SocketQuery(protocols: [.tcp], families: [.ipv4, .ipv6], listeningOnly: true)
        return InventoryCollector(options: options, sockDiag: client(transport))
    }

    @Test(
        "A kernel that never gives a settled dump: --source auto lists the sockets from /proc/net with a notice; --source netlink fails clearly",
        .enabled(if: hasLiveProc, "needs a live Linux /proc"))
    func collectorFallsBackRatherThanDropping() throws {
        let own = TestSockets()
        let port4 = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let port6 = try own.open(.tcp, ipv6: true, address: "::1")
        for failure in [
            [ScriptedTransport.Step.failure(.noBufferSpace)] + (try Self.listen().map(ScriptedTransport.Step.datagram)),
            try Self.interrupted().map(ScriptedTransport.Step.datagram),
        ] {
            var auto = collector(ScriptedTransport([], otherwise: failure), source: .auto)
            let inventory = try auto.collect()
            let ports = Set(inventory.entries.map(\.socket.localPort))
            #expect(ports.contains(port4) && ports.contains(port6), "a socket was dropped: \(inventory.diagnostics)")
            #expect(inventory.source == "netlink+procfs")
            let notices = inventory.diagnostics.filter { $0.message.contains("read /proc/net instead") }
            #expect(notices.count == 2, "\(inventory.diagnostics)")  // tcp over IPv4 and over IPv6
            #expect(
                notices.allSatisfy {
                    $0.severity == .notice && ($0.message.contains("NLM_F_DUMP_INTR") || $0.message.contains("overflowed"))
                })

            var strict = collector(ScriptedTransport([], otherwise: failure), source: .netlink)
            #expect { try strict.collect() } throws: { error in
                let text = "\(error)"
                return error is CollectionError && text.contains("sock_diag dump of tcp/ipv4")
                    && (text.contains("NLM_F_DUMP_INTR") || text.contains("overflowed"))
            }
        }
    }

    @Test(
        "When the check dump fails, unowned sockets are not reported closed: only a second read that worked proves a socket gone",
        .enabled(if: hasLiveProc && geteuid() == 0, "needs a live /proc and root (a full fd walk)"))
    func failedRecheckProvesNothingGone() throws {
        // The first dump lists three tcp6 listeners no process here holds; every later dump is interrupted.
        let transport = ScriptedTransport(
            [try Self.listen().map(ScriptedTransport.Step.datagram)], otherwise: try Self.interrupted().map(ScriptedTransport.Step.datagram)
        )
        var collector = collector(transport, source: .netlink, owners: true)
        collector.options.query = SocketQuery(protocols: [.tcp], families: [.ipv6], listeningOnly: true)
        let inventory = try collector.collect()
        let fixture = inventory.entries.filter { [24103, 24104, 24105].contains($0.socket.localPort) }
        try #require(fixture.count == 3, "\(inventory.entries.map(\.socket.localPort))")
        #expect(transport.requests.count > 1, "the second dump was not attempted")
        #expect(fixture.allSatisfy { $0.owners.isEmpty && $0.unownedReason != .gone }, "\(fixture.map(\.unownedReason))")
    }
}
