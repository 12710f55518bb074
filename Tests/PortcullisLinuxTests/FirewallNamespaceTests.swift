import Foundation
import Glibc
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// Two network namespaces joined by a veth pair: a server with a ruleset
/// and real listeners, a client that connects to them. Every address lives
/// inside the two namespaces; nothing touches the host's own network or
/// ruleset. `close()` deletes both namespaces (and with them the veth pair)
/// and stops the listeners; tests call it in a `defer`.
final class FirewallLab {
    static let prefix = "pc-fw-it-"
    let ip: String
    let nft: String
    let python3: String
    let server: String
    let client: String
    /// 10.213.<subnet>.1/30 and .2/30; fd00:213:<subnet>::1/64 and ::2/64.
    let subnet = Int.random(in: 0...255)
    var listener: Process?

    var serverV4: String { "10.213.\(subnet).1" }
    var clientV4: String { "10.213.\(subnet).2" }
    var serverV6: String { "fd00:213:\(String(subnet, radix: 16))::1" }
    var clientV6: String { "fd00:213:\(String(subnet, radix: 16))::2" }

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a command to the end; stdout, or an error with stderr.
    @discardableResult
    static func run(_ path: String, _ arguments: [String], stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(
                description: "\(([path] + arguments).joined(separator: " ")) exited \(process.terminationStatus): "
                    + String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Deletes namespaces an earlier run of this test left behind when its
    /// process died (the creator's pid is in the name).
    static func removeStale(ip: String) {
        guard let listing = try? run(ip, ["netns", "list"]) else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).split(separator: "-").first ?? "") else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = try? run(ip, ["netns", "del", name]) }
        }
    }

    init(ip: String, nft: String, python3: String) throws {
        self.ip = ip
        self.nft = nft
        self.python3 = python3
        Self.removeStale(ip: ip)
        let tag = "\(Self.prefix)\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        server = "\(tag)-s"
        client = "\(tag)-c"
        try Self.run(ip, ["netns", "add", server])
        do {
            try Self.run(ip, ["netns", "add", client])
            try setUpLinks()
        } catch {
            close()
            throw error
        }
    }

    func setUpLinks() throws {
        for ns in [server, client] { try Self.run(ip, ["-n", ns, "link", "set", "lo", "up"]) }
        // The pair is created inside the server namespace, its peer moved to the client's: no host interface is involved.
        try Self.run(ip, ["-n", server, "link", "add", "vsrv", "type", "veth", "peer", "name", "vcli", "netns", client])
        try Self.run(ip, ["-n", server, "addr", "add", "\(serverV4)/30", "dev", "vsrv"])
        try Self.run(ip, ["-n", client, "addr", "add", "\(clientV4)/30", "dev", "vcli"])
        try Self.run(ip, ["-n", server, "-6", "addr", "add", "\(serverV6)/64", "dev", "vsrv", "nodad"])
        try Self.run(ip, ["-n", client, "-6", "addr", "add", "\(clientV6)/64", "dev", "vcli", "nodad"])
        try Self.run(ip, ["-n", server, "link", "set", "vsrv", "up"])
        try Self.run(ip, ["-n", client, "link", "set", "vcli", "up"])
    }

    func close() {
        // SIGKILL: Foundation's Process hands the child the spawning
        // thread's blocked-signal mask, which may hold SIGTERM.
        if let listener, listener.isRunning {
            kill(listener.processIdentifier, SIGKILL)
            listener.waitUntilExit()
        }
        for ns in [server, client] { _ = try? Self.run(ip, ["netns", "del", ns]) }
    }

    /// Replaces the server's ruleset (only ever inside the server namespace).
    func load(_ ruleset: String) throws {
        try Self.run(ip, ["netns", "exec", server, nft, "-f", "-"], stdin: "flush ruleset\n" + ruleset)
    }

    /// Reads the server's ruleset the way the product does (same runner,
    /// same decoder), through `ip netns exec`.
    func model() throws -> FirewallModel {
        switch FirewallReader.readRuleset(executable: ip, arguments: ["ip", "netns", "exec", server, nft, "-j", "list", "ruleset"]) {
        case .nftables(let model): return model
        case .unavailable(let why): throw CommandFailed(description: "reading the lab's ruleset: \(why)")
        }
    }

    static let listenerScript = #"""
        import json, selectors, signal, socket, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # the mask Foundation's Process passed on
        signal.alarm(300)  # never outlive a test that died
        spec = json.loads(sys.argv[1])
        sel = selectors.DefaultSelector()
        for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            for kind, ports in (("tcp", spec["tcp"]), ("udp", spec["udp"])):
                for port in ports:
                    s = socket.socket(family, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind((host, port))
                    if kind == "tcp":
                        s.listen(64)
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ, kind)
        print("ready", flush=True)
        while True:
            for key, _ in sel.select():
                try:
                    if key.data == "tcp":
                        conn, _ = key.fileobj.accept()
                        conn.close()
                    else:
                        data, peer = key.fileobj.recvfrom(2048)
                        key.fileobj.sendto(data, peer)
                except OSError:
                    pass
        """#

    /// Starts TCP listeners and UDP echo servers on 0.0.0.0 and [::]
    /// (IPV6_V6ONLY) in the server namespace; returns once they are bound.
    func startListeners(tcp: [UInt16], udp: [UInt16]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = ["netns", "exec", server, python3, "-u", "-c", Self.listenerScript, "{\"tcp\": \(tcp), \"udp\": \(udp)}"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        listener = process
        var line = Data()
        while !line.contains(0x0a) {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw CommandFailed(description: "the listeners exited before they were ready") }
            line.append(chunk)
        }
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else {
            throw CommandFailed(description: "listeners: \(String(decoding: line, as: UTF8.self))")
        }
    }

    struct Probe: Hashable, Codable, CustomStringConvertible {
        var proto: String
        var family: String
        var port: UInt16
        /// IPv6 only: send the SYN behind a destination-options extension header.
        var extensionHeader = false

        var id: String { "\(proto)/\(port)/\(family)\(extensionHeader ? "+dstopts" : "")" }
        var description: String { id }
    }

    static let probeScript = #"""
        import concurrent.futures, json, signal, socket, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.alarm(60)
        targets = json.loads(sys.argv[1])
        def probe(t):
            family = socket.AF_INET if t["family"] == "ipv4" else socket.AF_INET6
            kind = socket.SOCK_STREAM if t["proto"] == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(family, kind)
            s.settimeout(0.8)
            try:
                if t["extensionHeader"]:
                    # Destination options: next header and length filled by the kernel, one PadN option.
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
                s.connect((t["host"], t["port"]))
                if t["proto"] == "tcp":
                    return "open"
                for _ in range(2):
                    s.send(b"portcullis")
                    try:
                        return "open" if s.recv(64) == b"portcullis" else "garbled"
                    except socket.timeout:
                        continue
                return "timeout"
            except socket.timeout:
                return "timeout"
            except ConnectionRefusedError:
                return "refused"
            except OSError as e:
                return "error: " + (e.strerror or str(e))
            finally:
                s.close()
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            results = list(pool.map(probe, targets))
        print(json.dumps([t["id"] + "=" + r for t, r in zip(targets, results)]))
        """#

    /// Connects from the client namespace to each target; "open", "timeout",
    /// "refused" or "error: ..." per probe.
    func probe(_ probes: [Probe]) throws -> [Probe: String] {
        struct Target: Codable {
            var id, proto, family, host: String
            var port: UInt16
            var extensionHeader: Bool
        }
        let targets = probes.map {
            Target(
                id: $0.id, proto: $0.proto, family: $0.family, host: $0.family == "ipv4" ? serverV4 : serverV6,
                port: $0.port, extensionHeader: $0.extensionHeader)
        }
        let json = String(decoding: try JSONEncoder().encode(targets), as: UTF8.self)
        let output = try Self.run(ip, ["netns", "exec", client, python3, "-c", Self.probeScript, json])
        let lines = try JSONDecoder().decode([String].self, from: Data(output.utf8))
        var results: [Probe: String] = [:]
        for (probe, line) in zip(probes, lines) { results[probe] = String(line.dropFirst(probe.id.count + 1)) }
        return results
    }
}

@Suite(.serialized) struct FirewallNamespaceTests {
    static let ready: Bool = {
        guard FirewallHost.isRoot, let ip = FirewallHost.ip, FirewallHost.nft != nil, FirewallHost.python3 != nil else { return false }
        // Some containers let root do everything but mount /run/netns.
        let name = "\(FirewallLab.prefix)\(getpid())-probe"
        guard (try? FirewallLab.run(ip, ["netns", "add", name])) != nil else { return false }
        _ = try? FirewallLab.run(ip, ["netns", "del", name])
        return true
    }()

    static let tcpPorts: [UInt16] = [22022, 22023, 22024, 22025, 22026, 22027, 22028, 8080, 8085]
    static let udpPorts: [UInt16] = [22053, 22054]

    /// A server firewall: policy drop, a few services open, one open to a
    /// source range that includes the client and one to a range that does not.
    static let serverFirewall = """
        table inet filter {
          set webports {
            type inet_service
            flags interval
            elements = { 8080-8089 }
          }
          chain input {
            type filter hook input priority filter; policy drop;
            iif lo accept
            ct state established,related accept
            ct state invalid drop
            meta l4proto { icmp, ipv6-icmp } accept
            tcp dport 22022 accept
            tcp dport @webports counter accept
            ip saddr 10.213.0.0/16 tcp dport 22023 accept
            ip6 saddr fd00:213::/32 tcp dport 22023 accept
            ip saddr 192.0.2.0/24 tcp dport 22024 accept
            tcp dport 22025 reject with tcp reset
            tcp dport 22027 limit rate 100/second accept
            udp dport 22053 accept
          }
        }
        """

    /// Policy accept with drops, one of them (`ip6 nexthdr tcp`) bypassed
    /// by an extension header, some in raw prerouting chains, where
    /// conntrack has not run yet and every packet's state reads "invalid".
    static let dropList = """
        table inet filter {
          chain input {
            type filter hook input priority filter; policy accept;
            tcp dport 22022 drop
            tcp dport 22025 reject with tcp reset
            ip6 nexthdr tcp tcp dport 22026 drop
            meta l4proto tcp tcp dport 22028 drop
            ip saddr != 10.213.0.0/16 tcp dport 22023 drop
            udp dport 22054 drop
          }
        }
        table ip raw {
          chain prerouting {
            type filter hook prerouting priority raw; policy accept;
            tcp dport 8080 drop
          }
        }
        table inet early {
          chain prerouting {
            type filter hook prerouting priority raw; policy accept;
            tcp dport 22027 ct state invalid drop
            tcp dport 22024 ct state new drop
          }
        }
        """

    struct Expectation: CustomStringConvertible {
        var probe: FirewallLab.Probe
        var verdict: String
        /// What the client sees: "open", or nil for "anything but open".
        var reality: String?
        var reason: String

        var description: String { "\(probe) \(verdict)" }
    }

    static func expect(
        _ proto: String, _ port: UInt16, _ family: String, _ verdict: String, reality: String?, reason: String = "",
        extensionHeader: Bool = false
    ) -> Expectation {
        Expectation(
            probe: .init(proto: proto, family: family, port: port, extensionHeader: extensionHeader),
            verdict: verdict, reality: reality, reason: reason)
    }

    @Test(
        "verdicts agree with what a client in another namespace can reach",
        .enabled(if: FirewallHost.isRoot, "needs root to create network namespaces"),
        .enabled(if: FirewallHost.ip != nil, "ip (iproute2) is not installed"),
        .enabled(if: FirewallHost.nft != nil, "nft (nftables) is not installed: apt-get install nftables"),
        .enabled(if: FirewallHost.python3 != nil, "python3 is not installed: it runs the listeners and the client"),
        .enabled(if: ready, "network namespaces cannot be created here"))
    func verdictsMatchReality() throws {
        let lab = try FirewallLab(
            ip: try #require(FirewallHost.ip), nft: try #require(FirewallHost.nft), python3: try #require(FirewallHost.python3))
        defer { lab.close() }
        try lab.startListeners(tcp: Self.tcpPorts, udp: Self.udpPorts)

        try lab.load(Self.serverFirewall)
        try check(
            lab,
            [
                Self.expect("tcp", 22022, "ipv4", "reachable", reality: "open", reason: "tcp dport 22022 accept"),
                Self.expect("tcp", 22022, "ipv6", "reachable", reality: "open"),
                Self.expect("tcp", 8085, "ipv6", "reachable", reality: "open", reason: "@webports"),
                Self.expect("tcp", 22023, "ipv4", "reachable", reality: "open", reason: "reachable only when ip saddr 10.213.0.0/16"),
                Self.expect("tcp", 22023, "ipv6", "reachable", reality: "open", reason: "reachable only when ip6 saddr fd00:213::/32"),
                // Reachable, but from 192.0.2.0/24 only: the client is not there.
                Self.expect("tcp", 22024, "ipv4", "reachable", reality: nil, reason: "reachable only when ip saddr 192.0.2.0/24"),
                Self.expect("tcp", 22024, "ipv6", "filtered", reality: nil),
                Self.expect("tcp", 22025, "ipv4", "filtered", reality: "refused", reason: "rejected by rule"),
                Self.expect("tcp", 22026, "ipv6", "filtered", reality: nil, reason: "policy drop"),
                Self.expect("tcp", 22026, "ipv6", "filtered", reality: nil, extensionHeader: true),
                Self.expect("tcp", 22027, "ipv4", "unknown", reality: "open", reason: "limit rate 100/second"),
                Self.expect("tcp", 22028, "ipv4", "filtered", reality: nil),
                Self.expect("udp", 22053, "ipv4", "reachable", reality: "open"),
                Self.expect("udp", 22053, "ipv6", "reachable", reality: "open"),
                Self.expect("udp", 22054, "ipv4", "filtered", reality: nil),
                Self.expect("udp", 22054, "ipv6", "filtered", reality: nil),
            ])

        try lab.load(Self.dropList)
        try check(
            lab,
            [
                Self.expect("tcp", 22022, "ipv4", "filtered", reality: nil, reason: "tcp dport 22022 drop"),
                Self.expect("tcp", 22022, "ipv6", "filtered", reality: nil),
                Self.expect("tcp", 22025, "ipv6", "filtered", reality: "refused", reason: "reject with tcp reset"),
                Self.expect("tcp", 22026, "ipv4", "reachable", reality: "open"),
                // The plain SYN is dropped, the one behind an extension header is not.
                Self.expect("tcp", 22026, "ipv6", "reachable", reality: nil, reason: "for packets where not ip6 nexthdr tcp"),
                Self.expect("tcp", 22026, "ipv6", "reachable", reality: "open", extensionHeader: true),
                // `meta l4proto` sees through extension headers.
                Self.expect("tcp", 22028, "ipv6", "filtered", reality: nil, extensionHeader: true),
                Self.expect("tcp", 22023, "ipv4", "reachable", reality: "open", reason: "reachable only when ip saddr 10.213.0.0/16"),
                Self.expect("tcp", 22023, "ipv6", "reachable", reality: "open"),
                Self.expect("tcp", 8080, "ipv4", "filtered", reality: nil, reason: "ip raw prerouting"),
                Self.expect("tcp", 8080, "ipv6", "reachable", reality: "open"),
                Self.expect("tcp", 22024, "ipv4", "reachable", reality: "open", reason: "policy accept"),
                Self.expect("tcp", 22024, "ipv6", "reachable", reality: "open"),
                Self.expect("tcp", 22027, "ipv4", "filtered", reality: nil, reason: "tcp dport 22027 ct state invalid drop"),
                Self.expect("tcp", 22027, "ipv6", "filtered", reality: nil, reason: "inet early prerouting"),
                Self.expect("udp", 22053, "ipv6", "reachable", reality: "open"),
                Self.expect("udp", 22054, "ipv4", "filtered", reality: nil),
            ])
    }

    /// Checks each expectation, and on every listener the two promises:
    /// filtered never accepts (not even behind an IPv6 extension header),
    /// unconditionally reachable always does.
    func check(_ lab: FirewallLab, _ expectations: [Expectation]) throws {
        let model = try lab.model()
        var probes: [FirewallLab.Probe] = expectations.map(\.probe)
        var evaluations: [FirewallLab.Probe: FirewallEvaluation] = [:]
        for (proto, ports) in [("tcp", Self.tcpPorts), ("udp", Self.udpPorts)] {
            for port in ports {
                for family in ["ipv4", "ipv6"] {
                    let probe = FirewallLab.Probe(proto: proto, family: family, port: port)
                    evaluations[probe] = model.evaluate(
                        proto: proto == "tcp" ? .tcp : .udp, family: family == "ipv4" ? .ipv4 : .ipv6, port: port,
                        localAddress: family == "ipv4" ? .anyV4 : .anyV6)
                    probes.append(probe)
                    if proto == "tcp" && family == "ipv6" {
                        probes.append(FirewallLab.Probe(proto: proto, family: family, port: port, extensionHeader: true))
                    }
                }
            }
        }
        let reality = try lab.probe(Array(Set(probes)))

        for e in expectations {
            var plain = e.probe
            plain.extensionHeader = false
            let evaluation = try #require(evaluations[plain])
            let seen = reality[e.probe] ?? "?"
            #expect(evaluation.verdict.name == e.verdict, "\(e.probe): \(evaluation.verdict.reason)")
            if !e.reason.isEmpty {
                #expect(
                    evaluation.verdict.reason.contains(e.reason),
                    "\(e.probe): reason lacks \(e.reason.debugDescription): \(evaluation.verdict.reason)")
            }
            if let expected = e.reality {
                #expect(
                    seen == expected,
                    "\(e.probe) judged \(evaluation.verdict.name) (\(evaluation.verdict.reason)) but the client saw \(seen)")
            } else {
                #expect(
                    seen != "open", "\(e.probe) judged \(evaluation.verdict.name) (\(evaluation.verdict.reason)) but the client connected")
            }
        }
        for (probe, evaluation) in evaluations {
            let shapes =
                probe.proto == "tcp" && probe.family == "ipv6"
                ? [probe, FirewallLab.Probe(proto: probe.proto, family: probe.family, port: probe.port, extensionHeader: true)] : [probe]
            if evaluation.verdict.isFiltered {
                for shape in shapes {
                    #expect(reality[shape] != "open", "\(shape) judged filtered (\(evaluation.verdict.reason)) but the client connected")
                }
            }
            if evaluation.verdict.name == "reachable" && evaluation.conditions.isEmpty {
                #expect(
                    reality[probe] == "open",
                    "\(probe) judged reachable (\(evaluation.verdict.reason)) but the client saw \(reality[probe] ?? "?")")
            }
        }
    }
}
