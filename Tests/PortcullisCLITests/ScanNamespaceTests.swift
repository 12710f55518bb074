import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two network namespaces joined by a veth pair: the scanner's and the
/// target's. Traffic never leaves them; both are deleted on teardown.
final class TestNetworkPair {
    let scanner: String
    let target: String
    let scannerV4 = "10.77.0.1", targetV4 = "10.77.0.2"
    let scannerV6 = "fd77::1", targetV6 = "fd77::2"
    /// The veth ends: the scanner's in `scanner`, the target's in `target`.
    let scannerLink: String, targetLink: String
    private var pids: [pid_t] = []

    init() throws {
        let tag = "\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        scanner = "pc-scan-\(tag)"
        target = "pc-target-\(tag)"
        let (a, b) = ("pcs\(tag.suffix(6))", "pct\(tag.suffix(6))")
        (scannerLink, targetLink) = (a, b)
        for command in [
            ["ip", "netns", "add", scanner], ["ip", "netns", "add", target],
            ["ip", "link", "add", a, "netns", scanner, "type", "veth", "peer", "name", b, "netns", target],
            ["ip", "-n", scanner, "addr", "add", "\(scannerV4)/24", "dev", a],
            ["ip", "-n", target, "addr", "add", "\(targetV4)/24", "dev", b],
            ["ip", "-n", scanner, "-6", "addr", "add", "\(scannerV6)/64", "dev", a, "nodad"],
            ["ip", "-n", target, "-6", "addr", "add", "\(targetV6)/64", "dev", b, "nodad"],
            ["ip", "-n", scanner, "link", "set", a, "up"], ["ip", "-n", target, "link", "set", b, "up"],
            ["ip", "-n", scanner, "link", "set", "lo", "up"], ["ip", "-n", target, "link", "set", "lo", "up"],
            // The target answers every closed UDP port: no ICMP rate limit there.
            ["ip", "netns", "exec", target, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"],
            ["ip", "netns", "exec", target, "sysctl", "-qw", "net.ipv6.icmp.ratelimit=0"],
            ["ip", "netns", "exec", target, "sysctl", "-qw", "net.ipv4.icmp_msgs_per_sec=100000"],
        ] {
            try TestNamespace.must(command)
        }
    }

    deinit {
        for pid in pids { kill(pid, SIGKILL) }
        for name in [scanner, target] {
            _ = try? Subprocess.run("/usr/bin/env", ["ip", "netns", "delete", name], environment: [:], timeout: 30)
        }
    }

    func loadTargetRuleset(_ text: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(target)-\(UUID().uuidString).nft")
        try Data(("flush ruleset\n" + text).utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try TestNamespace.must(["ip", "netns", "exec", target, "nft", "-f", file.path])
    }

    /// Starts python3 in the target namespace, detached; returns once it wrote its pid.
    func startTargetPython(_ script: String) throws {
        if let pid = try TestNamespace.startPython(script, in: target) { pids.append(pid) }
    }

    func scan(_ arguments: [String]) throws -> CommandResult {
        try Subprocess.run(
            "/usr/bin/env", ["ip", "netns", "exec", scanner, try CLI.binary(), "scan"] + arguments,
            environment: [:], timeout: 300)
    }
}

/// `scan --format json`, as far as the tests read it.
struct ScanDocument: Decodable {
    struct Port: Decodable {
        var proto: String
        var port: Int
        var state: String
        var reason: String
        var detail: String?
    }
    struct NotShown: Decodable {
        var state: String
        var count: Int
    }
    struct HostResult: Decodable {
        var address: String
        var up: Bool
        var ports: [Port]
        var notShown: [NotShown]
    }
    var hosts: [HostResult]
}

/// The target: TCP listeners that accept and close (so accept queues never
/// fill), UDP responders that echo, one UDP socket that never answers.
let scanTargetScript = """
    import os, selectors, socket, sys
    TCP = [22, 25, 80, 443, 3306, 8080] + list(range(5000, 5020)) + list(range(7000, 7005))
    UDP_ECHO = [53, 161, 514, 9999]
    UDP_SILENT = [7777]
    sel = selectors.DefaultSelector()
    keep = []
    for family, host in [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")]:
        for port in TCP:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, port)); s.listen(512); s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, "tcp")
        for port in UDP_ECHO + UDP_SILENT:
            s = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, port)); s.setblocking(False)
            if port in UDP_ECHO:
                sel.register(s, selectors.EVENT_READ, "udp")
            keep.append(s)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        for key, _ in sel.select():
            try:
                if key.data == "tcp":
                    c, _ = key.fileobj.accept(); c.close()
                else:
                    data, peer = key.fileobj.recvfrom(2048); key.fileobj.sendto(b"pong", peer)
            except OSError:
                pass
    """

extension CLITests {
    @Suite("scan: accuracy in network namespaces with a filtering, lossy target")
    struct ScanAccuracy {
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil
            && Host.executable("nft", preferring: ["/usr/sbin/nft", "/sbin/nft"]) != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]) != nil

        /// Drops some ports, rejects others (TCP reset, ICMP admin-prohibited,
        /// ICMP port-unreachable for UDP) and randomly drops 5% of every
        /// packet in and out.
        static let ruleset = """
            table inet filter {
                chain input {
                    type filter hook input priority 0; policy accept;
                    numgen random mod 100 < 5 drop
                    tcp dport { 3306, 6000-6009 } drop
                    tcp dport { 25, 7000-7004 } reject with tcp reset
                    tcp dport 9000 reject with icmpx type admin-prohibited
                    udp dport 514 drop
                    udp dport 6161 reject with icmpx type port-unreachable
                }
                chain output {
                    type filter hook output priority 0; policy accept;
                    numgen random mod 100 < 5 drop
                }
            }
            """

        static let tcpPorts = "1-1100,3300-3310,5000-5025,6000-6010,7000-7010,8080,9000"
        static let udpPorts = "50-170,514,6161,7777,9990-10000"

        /// Ground truth for TCP: listeners are open unless rejected (closed)
        /// or dropped (filtered); port 9000 is refused by ICMP (filtered);
        /// everything else is closed.
        static func expectedTCP(_ port: Int) -> String {
            if [3306].contains(port) || (6000...6009).contains(port) || port == 9000 { return "filtered" }
            if port == 25 || (7000...7004).contains(port) { return "closed" }
            if [22, 80, 443, 8080].contains(port) || (5000...5019).contains(port) { return "open" }
            return "closed"
        }

        static func expectedUDP(_ port: Int) -> String {
            if [53, 161, 9999].contains(port) { return "open" }
            if port == 514 || port == 7777 { return "open|filtered" }
            return "closed"
        }

        /// Every port's state, from the listed ports and the "not shown"
        /// summary (which must then hold exactly one state).
        static func states(_ host: ScanDocument.HostResult, ports: [Int]) -> [Int: String] {
            var states: [Int: String] = [:]
            for port in host.ports { states[port.port] = port.state }
            if let collapsed = host.notShown.first, host.notShown.count == 1 {
                for port in ports where states[port] == nil { states[port] = collapsed.state }
            }
            return states
        }

        static func expand(_ spec: String) -> [Int] {
            spec.split(separator: ",").flatMap { part -> [Int] in
                let bounds = part.split(separator: "-").compactMap { Int($0) }
                return bounds.count == 2 ? Array(bounds[0]...bounds[1]) : bounds
            }
        }

        @Test(
            "Every TCP and UDP port matches the ground truth, IPv4 and IPv6, over repeated runs",
            .enabled(if: canRun, "needs network namespaces, root, python3, nft and ip"), .timeLimit(.minutes(10)))
        func groundTruth() throws {
            let pair = try TestNetworkPair()
            try pair.loadTargetRuleset(Self.ruleset)
            try pair.startTargetPython(scanTargetScript)
            let tcp = Self.expand(Self.tcpPorts)
            let udp = Self.expand(Self.udpPorts)
            for run in 1...3 {
                for address in [pair.targetV4, pair.targetV6] {
                    let tcpResult = try pair.scan(["-p", Self.tcpPorts, "--format", "json", address])
                    #expect(tcpResult.status == 0, "\(tcpResult)")
                    let tcpHost = try #require(try decodeJSON(ScanDocument.self, tcpResult.stdout).hosts.first)
                    #expect(tcpHost.up)
                    let tcpStates = Self.states(tcpHost, ports: tcp)
                    let tcpWrong = tcp.filter { tcpStates[$0] != Self.expectedTCP($0) }
                    #expect(
                        tcpWrong.isEmpty,
                        "run \(run) \(address): TCP \(tcpWrong.prefix(20).map { "\($0): \(tcpStates[$0] ?? "missing") (expected \(Self.expectedTCP($0)))" })"
                    )

                    let udpResult = try pair.scan(["--udp", "-p", Self.udpPorts, "--format", "json", address])
                    #expect(udpResult.status == 0, "\(udpResult)")
                    let udpHost = try #require(try decodeJSON(ScanDocument.self, udpResult.stdout).hosts.first)
                    let udpStates = Self.states(udpHost, ports: udp)
                    let udpWrong = udp.filter { udpStates[$0] != Self.expectedUDP($0) }
                    #expect(
                        udpWrong.isEmpty,
                        "run \(run) \(address): UDP \(udpWrong.prefix(20).map { "\($0): \(udpStates[$0] ?? "missing") (expected \(Self.expectedUDP($0)))" })"
                    )
                }
            }
        }
    }
}
