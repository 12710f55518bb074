import Foundation
import PortcullisCore
import PortcullisLinux
import PortcullisTestSupport
import Testing

@testable import PortcullisScan

/// The audit's local probes over real sockets on 127.0.0.1: a fake MongoDB
/// that answers only the exact listDatabases request, real Redis and
/// memcached (open, and with a password), a silent SNMP port that costs
/// no more than the deadline, and a Redis reached by entering the network
/// namespace it listens in.
@Suite("Audit local probes on loopback", .serialized)
struct LocalProbeTests {
    static let loopback = IPAddress(v4: 127, 0, 0, 1)

    static func target(_ kind: AuditProbeKind, _ port: UInt16, proto: TransportProtocol = .tcp, inode: UInt64) -> AuditProbeTarget {
        AuditProbeTarget(inode: inode, kind: kind, proto: proto, address: loopback, port: port, namespaceInode: nil)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A MongoDB stand-in: answers `reply` (its responseTo set to the request's id) to exactly our request, closes on anything else.
    static func fakeMongo(reply document: BSONDocument) -> String {
        let reply = MongoWire.message(document, requestID: 1)  // responseTo patched by the fake
        return """
            import socket, sys
            expected = bytes.fromhex("\(hex(MongoWire.listDatabasesRequest))")
            reply = bytearray.fromhex("\(hex(reply))")
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", int(sys.argv[1])))
            server.listen(8)
            while True:
                conn, _ = server.accept()
                conn.settimeout(2)
                data = b""
                try:
                    while len(data) < len(expected):
                        chunk = conn.recv(4096)
                        if not chunk: break
                        data += chunk
                except OSError:
                    pass
                if data == expected:
                    reply[8:12] = data[4:8]
                    conn.sendall(bytes(reply))
                conn.close()
            """
    }

    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func mongoOpenAndLocked() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let open = try pythonServer(
            Self.fakeMongo(
                reply: BSONDocument([
                    ("databases", .array(BSONDocument([("0", .document(BSONDocument([("name", .string("admin"))])))]))),
                    ("ok", .double(1)),
                ])), in: scratch, name: "mongo-open")
        defer { open.stop() }
        let locked = try pythonServer(
            Self.fakeMongo(
                reply: BSONDocument([
                    ("ok", .double(0)), ("errmsg", .string("requires authentication")), ("code", .int32(13)),
                    ("codeName", .string("Unauthorized")),
                ])), in: scratch, name: "mongo-locked")
        defer { locked.stop() }
        let result = LocalProbes.run(
            [Self.target(.mongodb, open.port, inode: 1), Self.target(.mongodb, locked.port, inode: 2)], namespacePaths: [:],
            budgetMilliseconds: 2000)
        #expect(result.evidence[1]?.line == "probe: listDatabases answered without authentication: ok: 1, databases: admin")
        #expect(result.evidence[2]?.line == "probe: authentication required (Unauthorized, code 13)")
        #expect(result.diagnostics.isEmpty)
    }

    @Test(.enabled(if: ServiceTools.redisServer != nil && ServiceTools.python3 != nil, "redis-server is not installed"))
    func redisWithAndWithoutPassword() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let open = try RealDaemonTests.startRedis(scratch)
        defer { open.stop() }
        let lockedScratch = try ServiceScratch()
        defer { lockedScratch.remove() }
        let locked = try RealDaemonTests.startRedis(lockedScratch, password: "s3cret-\(getpid())")
        defer { locked.stop() }
        let result = LocalProbes.run(
            [Self.target(.redis, open.port, inode: 1), Self.target(.redis, locked.port, inode: 2)], namespacePaths: [:],
            budgetMilliseconds: 2000)
        #expect(result.evidence[1]?.line == "probe: PING answered +PONG without AUTH")
        #expect(result.evidence[2]?.line == "probe: authentication required (NOAUTH)")
    }

    @Test(.enabled(if: RealDaemonTests.memcached != nil && ServiceTools.python3 != nil, "memcached is not installed"))
    func memcachedOverTCPAndUDP() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let server = try RealDaemonTests.startMemcached(scratch)
        defer { server.stop() }
        let result = LocalProbes.run(
            [Self.target(.memcached, server.port, inode: 1), Self.target(.memcached, server.port, proto: .udp, inode: 2)],
            namespacePaths: [:], budgetMilliseconds: 2000)
        for inode: UInt64 in [1, 2] {
            let evidence = try #require(result.evidence[inode], "inode \(inode)")
            #expect(evidence.outcome == .answered)
            #expect(evidence.line.hasPrefix("probe: stats answered without authentication: STAT version 1."))
        }
    }

    /// A UDP port that reads and never answers (an agent that does not know
    /// the community stays silent): no evidence, and the probe returns at its deadline.
    @Test(.enabled(if: ServiceTools.python3 != nil, "python3 is not installed"))
    func silentSNMPCostsOnlyTheDeadline() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let script = """
            import socket, sys, time
            tcp = socket.socket()
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind(("127.0.0.1", int(sys.argv[1])))
            tcp.listen(1)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", int(sys.argv[1])))
            while True:
                udp.recvfrom(2048)
            """
        let server = try pythonServer(script, in: scratch, name: "silent")
        defer { server.stop() }
        let started = Sys.monotonicMicroseconds()
        let result = LocalProbes.run([Self.target(.snmp, server.port, proto: .udp, inode: 1)], namespacePaths: [:], budgetMilliseconds: 40)
        let elapsed = (Sys.monotonicMicroseconds() - started) / 1000
        #expect(result.evidence.isEmpty)
        #expect(elapsed >= 39 && Double(elapsed) < Sanitizer.scaled(250), "took \(elapsed) ms")
    }

    /// Runs `command` to completion through python's subprocess (which closes inherited descriptors, so a
    /// daemon it starts holds none of ours); throws on a non-zero exit.
    static func run(_ command: [String], in scratch: ServiceScratch) throws {
        let launcher =
            "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, "
            + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))"
        try runTool(try #require(ServiceTools.python3), ["-c", launcher] + command, in: scratch)
    }

    /// A Redis in a network namespace of the test's own, on 192.0.2.1 there:
    /// probed from this namespace by entering that one (setns on a thread made for it).
    @Test(
        .enabled(
            if: NetworkNamespaces.available && ServiceTools.redisServer != nil && ServiceTools.python3 != nil
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/ip"),
            "needs network namespaces (root, ip netns add), ip and redis-server"))
    func probeFromInsideAnotherNamespace() throws {
        let scratch = try ServiceScratch()
        defer { scratch.remove() }
        let name = "pc-lprobe-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        defer { try? runTool("/usr/bin/ip", ["netns", "delete", name], in: scratch) }
        try runTool("/usr/bin/ip", ["netns", "add", name], in: scratch)
        for arguments in [
            ["-n", name, "link", "set", "lo", "up"], ["-n", name, "link", "add", "pva", "type", "veth", "peer", "name", "pvb"],
            ["-n", name, "addr", "add", "192.0.2.1/24", "dev", "pva"], ["-n", name, "link", "set", "pva", "up"],
            ["-n", name, "link", "set", "pvb", "up"],
        ] {
            try runTool("/usr/bin/ip", arguments, in: scratch)
        }
        let pidFile = scratch.file("redis.pid")
        defer {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(pid, SIGKILL)
            }
        }
        try Self.run(
            [
                "/usr/bin/ip", "netns", "exec", name, try #require(ServiceTools.redisServer), "--bind", "192.0.2.1", "--port", "6379",
                "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", scratch.path, "--daemonize", "yes",
                "--pidfile", pidFile,
            ], in: scratch)
        let target = AuditProbeTarget(
            inode: 1, kind: .redis, proto: .tcp, address: try #require(IPAddress(parsing: "192.0.2.1")), port: 6379, namespaceInode: 42)
        var result = LocalProbes.Result()
        for _ in 0..<100 {
            result = LocalProbes.run([target], namespacePaths: [42: "/run/netns/" + name], budgetMilliseconds: 500)
            if result.evidence[1] != nil { break }
            usleep(50_000)  // redis still starting
        }
        #expect(result.evidence[1]?.line == "probe: PING answered +PONG without AUTH")
        #expect(result.diagnostics.isEmpty)
    }

    @Test("a target in a namespace nobody can enter is a diagnostic, not a guess")
    func unknownNamespace() {
        var target = Self.target(.redis, 6379, inode: 1)
        target.namespaceInode = 4_026_999_999
        let result = LocalProbes.run([target], namespacePaths: [:], budgetMilliseconds: 10)
        #expect(result.evidence.isEmpty)
        #expect(
            result.diagnostics.map(\.message) == [
                "probe of 127.0.0.1:6379/tcp (redis) not run: no way into network namespace 4026999999 was found"
            ])
    }
}
