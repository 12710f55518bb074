import Foundation
import Glibc
import PortcullisTestSupport
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// Netlink replies built from a record, for the destroyer's replayed conversations.
enum DestroyReplies {
    static func header(length: Int, type: UInt16, sequence: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        SockDiagWire.appendNative(&out, UInt32(length))
        SockDiagWire.appendNative(&out, type)
        SockDiagWire.appendNative(&out, UInt16(0))
        SockDiagWire.appendNative(&out, sequence)
        SockDiagWire.appendNative(&out, UInt32(4321))
        return out
    }

    /// The kernel's get-exact reply for `record` with `cookie`.
    static func found(_ record: SocketRecord, cookie: UInt64, sequence: UInt32) -> [UInt8] {
        var out = header(length: 16 + 72, type: 20, sequence: sequence)
        out += [SockDiagWire.familyCode(record.family), record.stateCode, 0, 0]
        out += SockDiagWire.destroyRequest(for: record, sequence: sequence, cookie: cookie)[24..<72]  // inet_diag_sockid
        for word in [0, record.receiveQueue, record.sendQueue, record.uid, UInt32(record.inode)] {
            SockDiagWire.appendNative(&out, word)
        }
        return out
    }

    /// NLMSG_ERROR with `code` (0 or a negative errno).
    static func ack(_ code: Int32, sequence: UInt32) -> [UInt8] {
        var out = header(length: 20, type: 2, sequence: sequence)
        SockDiagWire.appendNative(&out, UInt32(bitPattern: code))
        return out
    }
}

@Suite struct SocketDestroyerReplayTests {
    static let server = SocketRecord(
        proto: .tcp, family: .ipv4, localAddress: IPAddress(v4: 127, 0, 0, 1), localPort: 8080,
        remoteAddress: IPAddress(v4: 127, 0, 0, 1), remotePort: 40000, stateCode: 1, inode: 99, uid: 0)
    static let listener = SocketRecord(
        proto: .tcp, family: .ipv4, localAddress: IPAddress(v4: 127, 0, 0, 1), localPort: 8080,
        remoteAddress: .anyV4, remotePort: 0, stateCode: 10, inode: 98, uid: 0)

    @Test("A destroy looks the tuple up, then destroys by the cookie the lookup returned")
    func destroysByCookie() throws {
        let transport = ReplayTransport([
            [DestroyReplies.found(Self.server, cookie: 0x77, sequence: 1)], [DestroyReplies.ack(0, sequence: 2)],
        ])
        var destroyer = SocketDestroyer(transport: transport)
        try destroyer.destroy(Self.server)
        #expect(transport.requests.count == 2)
        #expect(transport.requests[0] == SockDiagWire.lookupRequest(for: Self.server, sequence: 1))
        #expect(transport.requests[1] == SockDiagWire.destroyRequest(for: Self.server, sequence: 2, cookie: 0x77))
        #expect(Array(transport.requests[1][64..<72]) == [0x77, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("A lookup answered by the port's listener means the connection is gone: nothing is destroyed")
    func listenerAnswerIsGone() {
        let transport = ReplayTransport([[DestroyReplies.found(Self.listener, cookie: 5, sequence: 1)]])
        var destroyer = SocketDestroyer(transport: transport)
        let outcomes = destroyer.destroy([Self.server])
        #expect(transport.requests.count == 1)  // no SOCK_DESTROY sent
        #expect(outcomes.count == 1 && !outcomes[0].destroyed)
        guard case .failure(let error) = outcomes[0].result else { return }
        #expect(error.code == .gone && error.meansSocketGone && error.operation == .lookup)
        #expect(error.description.contains("tcp 127.0.0.1:8080 -> 127.0.0.1:40000 (established)"), "\(error)")
        #expect(error.description.contains("found only tcp 127.0.0.1:8080 (listen)"), "\(error)")
    }

    @Test("Another socket with the very same tuple (another inode or cookie) is ambiguous, and left alone")
    func otherSocketIsAmbiguous() {
        var sibling = Self.listener
        sibling.inode = 1234  // an SO_REUSEPORT sibling
        var byCookie = Self.listener
        byCookie.cookie = 6
        for record in [sibling, byCookie] {
            let transport = ReplayTransport([[DestroyReplies.found(Self.listener, cookie: 5, sequence: 1)]])
            var destroyer = SocketDestroyer(transport: transport)
            var thrown: SockDiagError?
            do throws(SockDiagError) { try destroyer.destroy(record) } catch { thrown = error }
            #expect(thrown?.code == .ambiguous, "\(String(describing: thrown))")
            #expect(thrown?.description.contains("inode 98") == true)
            #expect(transport.requests.count == 1)
        }
    }

    @Test("Kernel answers: ENOENT is gone, EOPNOTSUPP unsupported (CONFIG_INET_DIAG_DESTROY), EPERM denied (CAP_NET_ADMIN)")
    func kernelErrors() {
        func destroyError(lookup: [UInt8], destroy: [UInt8]?) -> SockDiagError? {
            var replies = [[lookup]]
            if let destroy { replies.append([destroy]) }
            var destroyer = SocketDestroyer(transport: ReplayTransport(replies))
            do throws(SockDiagError) {
                try destroyer.destroy(Self.server)
                return nil
            } catch { return error }
        }
        let found = DestroyReplies.found(Self.server, cookie: 1, sequence: 1)
        let gone = destroyError(lookup: DestroyReplies.ack(-2, sequence: 1), destroy: nil)
        #expect(gone?.code == .gone && gone?.meansSocketGone == true && gone?.underlying == .noSuchFile)
        let raced = destroyError(lookup: found, destroy: DestroyReplies.ack(-2, sequence: 2))
        #expect(raced?.code == .gone && raced?.operation == .destroy)
        let unsupported = destroyError(lookup: found, destroy: DestroyReplies.ack(-95, sequence: 2))
        #expect(unsupported?.code == .unsupported && unsupported?.underlying == .operationNotSupported)
        #expect(unsupported?.description.contains("CONFIG_INET_DIAG_DESTROY") == true)
        let denied = destroyError(lookup: found, destroy: DestroyReplies.ack(-1, sequence: 2))
        #expect(denied?.code == .denied && denied?.description.contains("CAP_NET_ADMIN") == true)
        #expect(denied?.meansSocketGone == false)
        let other = destroyError(lookup: found, destroy: DestroyReplies.ack(-22, sequence: 2))
        #expect(other?.code == .kernel && other?.underlying == .invalidArgument)
        let malformed = destroyError(lookup: [1, 2, 3], destroy: nil)
        #expect(malformed?.code == .malformed)
        let empty = destroyError(lookup: [], destroy: nil)
        #expect(empty?.code == .malformed)
        // A stale reply to an earlier request is skipped.
        let transport = ReplayTransport([[DestroyReplies.ack(-2, sequence: 0), found], [DestroyReplies.ack(0, sequence: 2)]])
        var destroyer = SocketDestroyer(transport: transport)
        #expect(throws: Never.self) { try destroyer.destroy(Self.server) }
    }

    @Test("A dump's error message is unchanged by the destroy fields")
    func dumpMessageUnchanged() {
        let error = SockDiagError(code: .kernel, proto: .udp, family: .ipv6, underlying: nil, detail: "x")
        #expect(error.description == "sock_diag dump of udp/ipv6: x" && error.target == nil && !error.meansSocketGone)
    }
}

/// A network namespace of the test's own (`ip netns add`, loopback up), for
/// SOCK_DESTROY on the real kernel; `close()` deletes it. Code runs inside it
/// on a thread of its own (`Sys.inNetworkNamespace`), and every socket it
/// makes — the netlink socket too — belongs to it.
final class DestroyLab {
    static let prefix = "pc-destroy-it-"
    let ip: String
    let name: String

    init(ip: String) throws {
        self.ip = ip
        Self.removeStale(ip: ip)
        name = "\(Self.prefix)\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        try FirewallLab.run(ip, ["netns", "add", name])
        do { try FirewallLab.run(ip, ["-n", name, "link", "set", "lo", "up"]) } catch {
            close()
            throw error
        }
    }

    func close() { _ = try? FirewallLab.run(ip, ["netns", "del", name]) }

    /// Deletes namespaces of earlier runs whose process died.
    static func removeStale(ip: String) {
        guard let listing = try? FirewallLab.run(ip, ["netns", "list"]) else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).split(separator: "-").first ?? "") else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = try? FirewallLab.run(ip, ["netns", "del", name]) }
        }
    }

    /// Runs `body` inside the namespace and returns what it returned (or threw).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let outcome = Sys.inNetworkNamespace("/run/netns/\(name)") { Result<T, any Error> { try body() } }
        return try outcome.get().get()
    }

    static let ready: Bool = {
        guard FirewallHost.isRoot, let ip = FirewallHost.ip, let lab = try? DestroyLab(ip: ip) else { return false }
        lab.close()
        return true
    }()

    // MARK: sockets inside the namespace

    /// What a recv on `fd` reports within two seconds: the errno (ECONNABORTED, ECONNRESET...), 0 at the end
    /// of the stream, -1 when nothing happened, -2 when data came.
    static func readOutcome(_ fd: Int32) -> Int32 {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 2000) == 1 else { return -1 }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return n < 0 ? errno : (n == 0 ? 0 : -2)
    }

    /// A connection to 127.0.0.1:`port`, accepted: (client fd, server fd, client port); the caller closes both.
    static func connection(to port: UInt16, listener: Int32) throws -> (client: Int32, server: Int32, clientPort: UInt16) {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard client >= 0 else { throw LabError.last("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(client)
            throw LabError.last("connect")
        }
        let server = accept(listener, nil, nil)
        guard server >= 0 else {
            Glibc.close(client)
            throw LabError.last("accept")
        }
        return (client, server, try TestSockets.port(of: client))
    }

    /// `call` (bind or connect) of a new TCP socket with 127.0.0.1:`port`: 0 when it worked, else the errno.
    static func socketCallErrno(_ port: UInt16, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 ? 0 : errno
    }

    /// TCP/IPv4 sockets in the namespace with local port `port` and a state in `states`.
    static func dump(port: UInt16, states: UInt32) throws -> [SocketRecord] {
        var client = SockDiagClient()
        return try client.dump(proto: .tcp, family: .ipv4, states: states).filter { $0.localPort == port }
    }
}

/// A step inside the namespace that failed (issues are recorded on the test's own thread, from what `run` returns).
struct LabError: Error, CustomStringConvertible {
    var description: String
    static func last(_ call: String) -> LabError { LabError(description: "\(call): errno \(errno)") }
}

/// `value`, or a `LabError` saying `what` was missing.
func found<T>(_ value: T?, _ what: String) throws -> T {
    guard let value else { throw LabError(description: "not found: \(what)") }
    return value
}

@Suite(.serialized, .enabled(if: DestroyLab.ready, "needs root and `ip netns add` (a network namespace of the test's own)"))
struct SocketDestroyerKernelTests {
    /// What happened to two connections and the listener when each connection lost one end.
    struct EstablishedFacts: Sendable {
        var clientReadAfterServerSide: Int32 = -1
        var serverReadAfterServerSide: Int32 = -1
        var clientReadAfterClientSide: Int32 = -1
        var serverReadAfterClientSide: Int32 = -1
        var againServerSide: SockDiagError?
        var againClientSide: SockDiagError?
        var listenerInodeBefore: UInt64 = 0
        var listenersAfter: [SocketRecord] = []
        var newConnectionWorks = false
        var batch: [SocketDestroyer.Outcome] = []
    }

    @Test("Destroying either end of an established connection aborts it; a second destroy is gone; the listener stays")
    func establishedConnections() throws {
        let lab = try DestroyLab(ip: try #require(FirewallHost.ip))
        defer { lab.close() }
        let facts = try lab.run { () throws -> EstablishedFacts in
            var facts = EstablishedFacts()
            let own = TestSockets()
            let port = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
            let listener = own.fds[0]
            let a = try DestroyLab.connection(to: port, listener: listener)
            let b = try DestroyLab.connection(to: port, listener: listener)
            let c = try DestroyLab.connection(to: port, listener: listener)
            defer { for fd in [a.client, a.server, b.client, b.server, c.client, c.server] { Glibc.close(fd) } }
            facts.listenerInodeBefore = try DestroyLab.dump(port: port, states: SocketState.listen.mask).first?.inode ?? 0
            var client = SockDiagClient()
            let established = try client.dump(proto: .tcp, family: .ipv4, states: SocketState.established.mask)
            func serverSide(_ clientPort: UInt16) throws -> SocketRecord {
                try found(established.first { $0.localPort == port && $0.remotePort == clientPort }, "server end")
            }
            var destroyer = try SocketDestroyer()
            // A: the server's end, as a dump lists it (with its cookie).
            let serverA = try serverSide(a.clientPort)
            try destroyer.destroy(serverA)
            facts.clientReadAfterServerSide = DestroyLab.readOutcome(a.client)
            facts.serverReadAfterServerSide = DestroyLab.readOutcome(a.server)
            // B: the client's end, as a /proc table would give it (no cookie, no inode).
            let clientB = SocketRecord(
                proto: .tcp, family: .ipv4, localAddress: IPAddress(v4: 127, 0, 0, 1), localPort: b.clientPort,
                remoteAddress: IPAddress(v4: 127, 0, 0, 1), remotePort: port, stateCode: 1, inode: 0, uid: 0)
            try destroyer.destroy(clientB)
            facts.clientReadAfterClientSide = DestroyLab.readOutcome(b.client)
            facts.serverReadAfterClientSide = DestroyLab.readOutcome(b.server)
            do throws(SockDiagError) { try destroyer.destroy(serverA) } catch { facts.againServerSide = error }
            do throws(SockDiagError) { try destroyer.destroy(clientB) } catch { facts.againClientSide = error }
            // C, both ends in one batch: the server's end goes first, its reset closes the client's.
            let clientC = try found(
                try client.dump(proto: .tcp, family: .ipv4, states: SocketState.established.mask).first { $0.localPort == c.clientPort },
                "client end")
            facts.batch = destroyer.destroy([try serverSide(c.clientPort), clientC])
            facts.listenersAfter = try DestroyLab.dump(port: port, states: SocketState.listen.mask)
            if let d = try? DestroyLab.connection(to: port, listener: listener) {
                facts.newConnectionWorks = true
                Glibc.close(d.client)
                Glibc.close(d.server)
            }
            return facts
        }
        // The destroyed end reports ECONNABORTED to its holder; the peer gets a reset.
        #expect(facts.serverReadAfterServerSide == ECONNABORTED)
        #expect(facts.clientReadAfterServerSide == ECONNRESET)
        #expect(facts.clientReadAfterClientSide == ECONNABORTED)
        #expect(facts.serverReadAfterClientSide == ECONNRESET)
        // Again: the server end's tuple now finds only the listener, the client end's nothing.
        let again = (server: String(describing: facts.againServerSide), client: String(describing: facts.againClientSide))
        #expect(facts.againServerSide?.code == .gone && facts.againServerSide?.meansSocketGone == true, "\(again.server)")
        #expect(facts.againServerSide?.description.contains("(listen)") == true)
        #expect(facts.againClientSide?.code == .gone && facts.againClientSide?.underlying == .noSuchFile, "\(again.client)")
        #expect(facts.batch.map(\.destroyed) == [true, false])
        #expect(facts.batch.count == 2)
        if facts.batch.count == 2, case .failure(let error) = facts.batch[1].result { #expect(error.meansSocketGone, "\(error)") }
        // The listener is untouched.
        #expect(facts.listenersAfter.map(\.inode) == [facts.listenerInodeBefore] && facts.listenerInodeBefore != 0)
        #expect(facts.newConnectionWorks)
    }

    /// What a NOCOOKIE destroy of a closed connection's tuple does.
    struct NoCookieFacts: Sendable {
        var lookedUp: SocketRecord?
        var checkedDestroy: SockDiagError?
        var listenersAfterChecked = 0
        var noCookieAck: SockDiagWire.Ack?
        var listenersAfterNoCookie = 0
    }

    @Test("With INET_DIAG_NOCOOKIE a closed connection's tuple destroys the LISTENER; the destroyer's checked cookie does not")
    func noCookieHitsTheListener() throws {
        let lab = try DestroyLab(ip: try #require(FirewallHost.ip))
        defer { lab.close() }
        let facts = try lab.run { () throws -> NoCookieFacts in
            var facts = NoCookieFacts()
            let own = TestSockets()
            let port = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
            // A connection that no longer exists (or never did): 127.0.0.1:port <- 127.0.0.1:40000.
            let closed = SocketRecord(
                proto: .tcp, family: .ipv4, localAddress: IPAddress(v4: 127, 0, 0, 1), localPort: port,
                remoteAddress: IPAddress(v4: 127, 0, 0, 1), remotePort: 40000, stateCode: 1, inode: 0, uid: 0)
            var destroyer = try SocketDestroyer()
            facts.lookedUp = try destroyer.lookup(closed)
            do throws(SockDiagError) { try destroyer.destroy(closed) } catch { facts.checkedDestroy = error }
            facts.listenersAfterChecked = try DestroyLab.dump(port: port, states: SocketState.listen.mask).count
            // What `ss -K` style code does with a tuple and no cookie.
            let raw = try SockDiagSocket()
            try raw.send(SockDiagWire.destroyRequest(for: closed, sequence: 1, cookie: nil))
            facts.noCookieAck = try SockDiagWire.decodeAck(try raw.receive())
            facts.listenersAfterNoCookie = try DestroyLab.dump(port: port, states: SocketState.listen.mask).count
            return facts
        }
        #expect(facts.lookedUp?.state == .listen && facts.lookedUp?.remotePort == 0)  // the lookup lands on the listener
        #expect(facts.checkedDestroy?.code == .gone, "\(String(describing: facts.checkedDestroy))")
        #expect(facts.listenersAfterChecked == 1)
        #expect(facts.noCookieAck == .ok)
        #expect(facts.listenersAfterNoCookie == 0)  // the listener was destroyed
    }

    /// What destroying a listener leaves behind.
    struct ListenerFacts: Sendable {
        var listenDumpAfter = -1
        var closeDumpAfter = -1
        var boundInactiveDumpAfter: [SocketRecord] = []
        var inode: UInt64 = 0
        var bindAfter: Int32 = -1
        var connectAfter: Int32 = -1
        var acceptAfter: Int32 = -1
        var pendingError: Int32 = -1
        var listenAgain: Int32 = -1
        var listenDumpAfterListenAgain = -1
        var autoBoundBindAfter: Int32 = -1
        var secondDestroy: SockDiagError?
    }

    @Test("A destroyed listener stops listening but keeps its explicitly bound port (EADDRINUSE); listen() brings it back")
    func destroyedListener() throws {
        let lab = try DestroyLab(ip: try #require(FirewallHost.ip))
        defer { lab.close() }
        let facts = try lab.run { () throws -> ListenerFacts in
            var facts = ListenerFacts()
            let own = TestSockets()
            let port: UInt16 = 5000  // the namespace is the test's own: any port is free
            try own.open(.tcp, ipv6: false, address: "127.0.0.1", port: port)
            let fd = own.fds[0]
            let autoPort = try own.open(.tcp, ipv6: false, address: "127.0.0.1")  // port 0: the kernel chose it
            var destroyer = try SocketDestroyer()
            let record = try found(try DestroyLab.dump(port: port, states: SocketState.listen.mask).first, "listener")
            facts.inode = record.inode
            try destroyer.destroy(record)
            facts.listenDumpAfter = try DestroyLab.dump(port: port, states: SocketState.listen.mask).count
            facts.closeDumpAfter = try DestroyLab.dump(port: port, states: SocketState.close.mask).count
            facts.boundInactiveDumpAfter = try DestroyLab.dump(port: port, states: SocketState.boundInactive.mask)
            facts.bindAfter = DestroyLab.socketCallErrno(port, bind)
            facts.connectAfter = DestroyLab.socketCallErrno(port, connect)
            facts.pendingError = (try? Sys.probePendingError(fd)) ?? -1
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)  // an accept that would wait reports EAGAIN instead
            let accepted = accept(fd, nil, nil)
            facts.acceptAfter = accepted >= 0 ? 0 : errno
            if accepted >= 0 { Glibc.close(accepted) }
            do throws(SockDiagError) { try destroyer.destroy(record) } catch { facts.secondDestroy = error }
            facts.listenAgain = listen(fd, 16) == 0 ? 0 : errno
            facts.listenDumpAfterListenAgain = try DestroyLab.dump(port: port, states: SocketState.listen.mask).count
            let auto = try found(try DestroyLab.dump(port: autoPort, states: SocketState.listen.mask).first, "auto-bound listener")
            try destroyer.destroy(auto)
            facts.autoBoundBindAfter = DestroyLab.socketCallErrno(autoPort, bind)
            return facts
        }
        #expect(facts.listenDumpAfter == 0)  // out of the listening table
        #expect(facts.closeDumpAfter == 0)  // not in an ordinary CLOSE dump either
        // Only with TCP_BOUND_INACTIVE (13) in the mask, and then reported in state CLOSE (7).
        #expect(facts.boundInactiveDumpAfter.map(\.inode) == [facts.inode])
        #expect(facts.boundInactiveDumpAfter.map(\.stateCode) == [SocketState.close.rawValue])
        #expect(facts.bindAfter == EADDRINUSE)  // an explicitly bound port stays taken
        #expect(facts.connectAfter == ECONNREFUSED)
        #expect(facts.acceptAfter == EINVAL, "accept errno \(facts.acceptAfter)")
        #expect(facts.pendingError == ECONNABORTED, "SO_ERROR \(facts.pendingError)")
        #expect(facts.secondDestroy?.code == .gone, "\(String(describing: facts.secondDestroy))")
        #expect(facts.listenAgain == 0 && facts.listenDumpAfterListenAgain == 1)  // its holder can listen again
        #expect(facts.autoBoundBindAfter == 0)  // a kernel-chosen port is released
    }
}
