import Foundation
import Glibc
import PortcullisCore
import PortcullisTestSupport
import Testing

@testable import PortcullisLinux

private let runningAsRoot = geteuid() == 0

@Suite(
    .enabled(if: FileManager.default.fileExists(atPath: "/proc/net/tcp"), "needs a live Linux /proc"),
    .enabled(if: IPv6Loopback.available, "no IPv6 loopback: ::1 cannot be bound"))
struct HiddenProbeTests {
    @Test func bindProbeSeesAnIPv4SocketOnlyAsIPv4() throws {
        let own = TestSockets()
        for proto in [TransportProtocol.tcp, .udp] {
            let port = try own.open(proto, ipv6: false, address: "127.0.0.1")
            #expect(BindProber.probe(PortKey(proto, .ipv4, port)) == .inUse, "\(proto) v4")
            #expect(BindProber.probe(PortKey(proto, .ipv6, port)) == .free, "\(proto) v6 must not collide with a v4 socket")
        }
    }

    @Test func bindProbeSeesAV6OnlySocketOnlyAsIPv6() throws {
        let own = TestSockets()
        for proto in [TransportProtocol.tcp, .udp] {
            let port = try own.open(proto, ipv6: true, address: "::1", v6only: true)
            #expect(BindProber.probe(PortKey(proto, .ipv6, port)) == .inUse, "\(proto) v6")
            #expect(BindProber.probe(PortKey(proto, .ipv4, port)) == .free, "\(proto) v4 must not collide with a v6-only socket")
        }
    }

    @Test func bindProbeSeesADualStackSocketInBothFamilies() throws {
        let own = TestSockets()
        let port = try own.open(.tcp, ipv6: true, address: "::", v6only: false)
        #expect(BindProber.probe(PortKey(.tcp, .ipv6, port)) == .inUse)
        #expect(BindProber.probe(PortKey(.tcp, .ipv4, port)) == .inUse)
    }

    /// Found under churn: an IPv6 TIME_WAIT socket on [::1] makes a 0.0.0.0
    /// bind of its port fail, so the model lets any IPv6 row not known to be
    /// V6ONLY explain the IPv4 probe.
    @Test func ipv6TimeWaitBlocksTheIPv4Probe() throws {
        let own = TestSockets()
        let port = try own.timeWaitV6()
        #expect(BindProber.probe(PortKey(.tcp, .ipv6, port)) == .inUse)
        #expect(BindProber.probe(PortKey(.tcp, .ipv4, port)) == .inUse)
    }

    @Test func sweepFindsOurPortAcrossThreads() throws {
        let own = TestSockets()
        let port = try own.open(.udp, ipv6: false, address: "127.0.0.1")
        let low = max(1024, Int(port) - 3000)
        let high = min(65535, Int(port) + 3000)
        let (sweep, _) = BindProber.sweep(protocols: [.udp], families: [.ipv4], ports: UInt16(low)...UInt16(high), parallelism: 2)
        #expect(sweep.outcome(PortKey(.udp, .ipv4, port)) == .inUse)
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, port)) == .notProbed("not swept"))
    }

    /// Both families: one dual-stack probe per port, then family probes for
    /// the ports in use; ports a table already lists are not probed in that
    /// family, but the other family still is.
    @Test func dualStackSweepTellsFamiliesApartAndSkipsListedPorts() throws {
        let own = TestSockets()
        let v4 = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let v6 = try own.open(.tcp, ipv6: true, address: "::1")
        let shared = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        _ = try own.open(.tcp, ipv6: true, address: "::1", port: shared)  // V6ONLY, same port
        let ports = [v4, v6, shared]
        let low = max(1024, Int(ports.min()!) - 200)
        let high = min(65535, Int(ports.max()!) + 200)
        // The table "knows" only the IPv4 socket on the shared port.
        let (sweep, _) = BindProber.sweep(
            protocols: [.tcp], ports: UInt16(low)...UInt16(high),
            knownPorts: { _ in [PortKey(.tcp, .ipv4, shared)] }, parallelism: 2)
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, v4)) == .inUse)
        #expect(sweep.outcome(PortKey(.tcp, .ipv6, v4)) == .free)
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, v6)) == .free)
        #expect(sweep.outcome(PortKey(.tcp, .ipv6, v6)) == .inUse)
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, shared)) == .listed)
        #expect(sweep.outcome(PortKey(.tcp, .ipv6, shared)) == .inUse, "the unlisted IPv6 socket is still probed")
    }

    /// The io_uring batch says what the system calls say, port by port:
    /// held by IPv4, IPv6-only and dual-stack sockets, TCP and UDP, and free.
    @Test(.enabled(if: BindRing() != nil, "io_uring cannot bind here (needs Linux 6.11+, io_uring allowed)"))
    func ringProbesAgreeWithSystemCalls() throws {
        let own = TestSockets()
        let ring = try #require(BindRing())
        for proto in [TransportProtocol.tcp, .udp] {
            let held = [
                try own.open(proto, ipv6: false, address: "0.0.0.0"),
                try own.open(proto, ipv6: true, address: "::", v6only: true),
                try own.open(proto, ipv6: true, address: "::", v6only: false),
                try own.open(proto, ipv6: false, address: "127.0.0.1"),
            ]
            // Neighbours too: most are free, and what is not is compared all the same.
            let ports = held + held.map { $0 &+ 1 } + held.map { $0 &- 1 }
            for mode in [BindProber.Mode.ipv4, .dualStack] where BindProber.batchable(mode) {
                let answers = try ring.probe(ports: ports, ipv6: mode != .ipv4, udp: proto == .udp)
                var sockets = BindProber.ProbeSockets()
                defer { sockets.closeAll() }
                for (port, answer) in zip(ports, answers) {
                    let direct = BindProber.probe(port, proto, mode, &sockets)
                    let batched: BindOutcome = answer.map { BindProber.outcome(ofBindError: Errno($0.errno)) } ?? .free
                    #expect(batched == direct, "\(proto) port \(port) \(mode)")
                }
                for port in held {
                    let i = try #require(ports.firstIndex(of: port))
                    let expectInUse = mode == .dualStack || port != held[1]  // an IPv6-only socket leaves 0.0.0.0 free
                    #expect((answers[i]?.errno == EADDRINUSE) == expectInUse, "\(proto) port \(port) \(mode)")
                }
            }
        }
    }

    @Test(.enabled(if: BindRing() != nil, "io_uring cannot bind here: both sweeps would use system calls"))
    func batchedAndUnbatchedSweepsAgreeOnOurPorts() throws {
        let own = TestSockets()
        let tcp4 = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let tcp6 = try own.open(.tcp, ipv6: true, address: "::1")
        let udp4 = try own.open(.udp, ipv6: false, address: "127.0.0.1")
        let udp6 = try own.open(.udp, ipv6: true, address: "::1")
        let all = [tcp4, tcp6, udp4, udp6]
        let range = UInt16(max(1024, Int(all.min()!) - 300))...UInt16(min(65535, Int(all.max()!) + 300))
        let batched = BindProber.sweep(ports: range, parallelism: 2).0
        let plain = BindProber.sweep(ports: range, parallelism: 2, batching: false).0
        for sweep in [batched, plain] {
            #expect(sweep.outcome(PortKey(.tcp, .ipv4, tcp4)) == .inUse)
            #expect(sweep.outcome(PortKey(.tcp, .ipv6, tcp6)) == .inUse)
            #expect(sweep.outcome(PortKey(.udp, .ipv4, udp4)) == .inUse)
            #expect(sweep.outcome(PortKey(.udp, .ipv6, udp6)) == .inUse)
            #expect(sweep.outcome(PortKey(.tcp, .ipv6, tcp4)) == .free)
            #expect(sweep.outcome(PortKey(.udp, .ipv4, udp6)) == .free)
        }
    }

    /// Each protocol's known ports come from the callback, asked for at
    /// most once per thread and only for the protocol being swept.
    @Test func knownPortsAreAskedPerProtocol() throws {
        let own = TestSockets()
        let tcp = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let udp = try own.open(.udp, ipv6: false, address: "127.0.0.1")
        let range = UInt16(max(1024, Int(min(tcp, udp)) - 100))...UInt16(min(65535, Int(max(tcp, udp)) + 100))
        let asked = Locked<[TransportProtocol: Int]>([:])
        let (sweep, _) = BindProber.sweep(
            families: [.ipv4], ports: range,
            knownPorts: { proto in
                asked.withLock { $0[proto, default: 0] += 1 }
                return proto == .tcp ? [PortKey(.tcp, .ipv4, tcp)] : [PortKey(.udp, .ipv4, udp)]
            }, parallelism: 2)
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, tcp)) == .listed)
        #expect(sweep.outcome(PortKey(.udp, .ipv4, udp)) == .listed)
        #expect(sweep.outcome(PortKey(.tcp, .ipv4, udp)) != .listed)
        let counts = asked.withLock { $0 }
        #expect((1...2).contains(counts[.tcp] ?? 0) && (1...2).contains(counts[.udp] ?? 0), "\(counts)")
    }

    @Test func connectProbeTellsAcceptedFromRefused() throws {
        let own = TestSockets()
        let port4 = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
        let port6 = try own.open(.tcp, ipv6: true, address: "::1")
        #expect(ConnectProber.probe(PortKey(.tcp, .ipv4, port4)) == .accepted)
        #expect(ConnectProber.probe(PortKey(.tcp, .ipv6, port6)) == .accepted)
        #expect(ConnectProber.probe(PortKey(.udp, .ipv4, port4)) == .notProbed)
        // A bound, non-listening TCP socket holds a port nothing accepts on.
        let bound = try own.bindOnly()
        #expect(ConnectProber.probe(PortKey(.tcp, .ipv4, bound)) == .refused)
    }

    /// The whole check of a namespace, with listeners and a connection of
    /// our own: they are in every view, so nothing may be reported. It runs
    /// in a network namespace of the test's own (on a thread that entered
    /// it): in the host's, the other test targets of this process open and
    /// close listeners while the sweep runs. The host-wide parts (fd walk,
    /// pid sweep) are the CLI tests' `hidden` runs in namespaces.
    @Test(
        .enabled(if: runningAsRoot, "needs root: bind probes below 1024"),
        .enabled(if: DestroyLab.ready, "needs `ip netns add`: the check runs in a namespace of its own"),
        .timeLimit(.minutes(2)))
    func fullCheckOfAQuietNamespaceReportsNothing() throws {
        let lab = try DestroyLab(ip: try #require(FirewallHost.ip))
        defer { lab.close() }
        let (result, elapsed) = try lab.run { () throws -> (HiddenReport, Duration) in
            let own = TestSockets()
            let tcp4 = try own.open(.tcp, ipv6: false, address: "127.0.0.1")
            try own.open(.tcp, ipv6: true, address: "::1")
            try own.open(.udp, ipv6: false, address: "127.0.0.1")
            try own.open(.udp, ipv6: true, address: "::1")
            try own.open(.udp, ipv6: true, address: "::1", v6only: false)
            try own.open(.tcp, ipv6: true, address: "::", v6only: false)  // dual-stack: blocks both probes
            // An outgoing connection: its ephemeral port collides with a bind probe
            // and must be explained by the all-states dump.
            _ = try own.connectTCP4(to: tcp4)
            // An IPv6 TIME_WAIT: it blocks the IPv4 probe of its port too.
            _ = try own.timeWaitV6()
            // A TCP socket bound but not listening: only netlink (Linux 6.8+) lists it.
            _ = try own.bindOnly()
            var options = HiddenPortCheck.Options()
            options.pauseMilliseconds = 100
            options.namespaceOnly = true
            let clock = ContinuousClock()
            var report: HiddenReport?
            let elapsed = try clock.measure { report = try HiddenPortCheck.run(options) }
            return (try #require(report), elapsed)
        }
        print(
            "hidden check: \(elapsed), \(result.candidates) candidates, sweeps \(result.sweeps.map { "\($0.proto.rawValue)/\($0.family.rawValue) in_use=\($0.inUse) listed=\($0.listed)" })"
        )
        for diagnostic in result.diagnostics { print("diagnostic: \(diagnostic)") }
        for finding in result.findings { print("finding: \(finding.explanation)") }
        #expect(result.findings.filter(\.alarm).isEmpty)
        #expect(!result.foundSomethingHidden)
        #expect(result.sweeps.count == 4)
        #expect(result.sweeps.allSatisfy { $0.notProbed == 0 && $0.errors == 0 }, "root probes every port")
        // Our own sockets are listed (so not probed) or were seen in use by the sweep.
        #expect(result.sweeps.allSatisfy { $0.inUse + $0.listed >= 1 })
    }
}
