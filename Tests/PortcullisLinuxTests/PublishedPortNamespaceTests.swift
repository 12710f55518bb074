import Foundation
import Glibc
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// Three network namespaces made for the test and removed after it: a
/// host with an input policy of drop and a Docker-style DNAT from 8080 to
/// a container's port 80, the container with a listener on 80, and a
/// client outside. nmap, from the client, is the oracle: what it finds
/// open on the host's address must be what portcullis calls reachable.
final class PublishedPortLab {
    static let prefix = "pc-pub-it-"
    let ip: String
    let host: String
    let container: String
    let client: String
    let subnet = Int.random(in: 0...255)
    var listener: Process?

    /// Client side of the host, and the host's side of the container link.
    var hostAddress: String { "10.216.\(subnet).1" }
    var clientAddress: String { "10.216.\(subnet).2" }
    var bridgeAddress: String { "10.217.\(subnet).1" }
    var containerAddress: String { "10.217.\(subnet).2" }
    /// The host's interface toward the container, as Docker's docker0.
    static let bridge = "pcbr0"

    static func run(_ path: String, _ arguments: [String], stdin: String? = nil) throws -> String {
        try FirewallLab.run(path, arguments, stdin: stdin)
    }

    /// Deletes namespaces an earlier run left behind when its process died.
    static func removeStale(ip: String) {
        guard let listing = try? run(ip, ["netns", "list"]) else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).split(separator: "-").first ?? "") else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = try? run(ip, ["netns", "del", name]) }
        }
    }

    init(ip: String) throws {
        self.ip = ip
        Self.removeStale(ip: ip)
        let tag = "\(Self.prefix)\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        host = "\(tag)-h"
        container = "\(tag)-c"
        client = "\(tag)-x"
        do {
            for ns in [host, container, client] {
                try Self.run(ip, ["netns", "add", ns])
                try Self.run(ip, ["-n", ns, "link", "set", "lo", "up"])
            }
            // Both pairs are made inside the host namespace and their peers moved: no interface of the machine is touched.
            try Self.run(ip, ["-n", host, "link", "add", "vhost", "type", "veth", "peer", "name", "vcli", "netns", client])
            try Self.run(ip, ["-n", host, "link", "add", Self.bridge, "type", "veth", "peer", "name", "eth0", "netns", container])
            try Self.run(ip, ["-n", host, "addr", "add", "\(hostAddress)/30", "dev", "vhost"])
            try Self.run(ip, ["-n", client, "addr", "add", "\(clientAddress)/30", "dev", "vcli"])
            try Self.run(ip, ["-n", host, "addr", "add", "\(bridgeAddress)/30", "dev", Self.bridge])
            try Self.run(ip, ["-n", container, "addr", "add", "\(containerAddress)/30", "dev", "eth0"])
            for (ns, dev) in [(host, "vhost"), (host, Self.bridge), (client, "vcli"), (container, "eth0")] {
                try Self.run(ip, ["-n", ns, "link", "set", dev, "up"])
            }
            try Self.run(ip, ["-n", container, "route", "add", "default", "via", bridgeAddress])
            // Forwarding inside the host namespace only (the sysctl is per namespace).
            try Self.run(ip, ["netns", "exec", host, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        } catch {
            close()
            throw error
        }
    }

    func close() {
        if let listener, listener.isRunning {
            kill(listener.processIdentifier, SIGKILL)
            listener.waitUntilExit()
        }
        for ns in [host, container, client] { _ = try? Self.run(ip, ["netns", "del", ns]) }
    }

    /// A TCP listener on 0.0.0.0:80 in the container namespace.
    func startContainerListener(python3: String) throws {
        let script = """
            import signal, socket
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            signal.alarm(300)
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 80))
            s.listen(16)
            print("ready", flush=True)
            while True:
                c, _ = s.accept()
                c.close()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = ["netns", "exec", container, python3, "-u", "-c", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        listener = process
        var line = Data()
        while !line.contains(0x0a) {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw FirewallLab.CommandFailed(description: "the container's listener exited") }
            line.append(chunk)
        }
    }

    /// nmap's TCP connect scan from the client: state by port ("open", "closed", "filtered").
    func nmap(_ nmap: String, ports: [UInt16]) throws -> [UInt16: String] {
        let output = try Self.run(
            ip,
            [
                "netns", "exec", client, nmap, "-sT", "-Pn", "-n", "--max-retries", "1", "--host-timeout", "60s", "-p",
                ports.map(String.init).joined(separator: ","), "-oG", "-", hostAddress,
            ])
        var states: [UInt16: String] = [:]
        for line in output.split(separator: "\n") where line.contains("Ports:") {
            let list = line.components(separatedBy: "Ports:")[1].components(separatedBy: "\t")[0]
            for entry in list.split(separator: ",") {
                let fields = entry.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
                if fields.count > 1, let port = UInt16(fields[0]) { states[port] = String(fields[1]) }
            }
        }
        return states
    }

    func loadNft(_ nft: String, _ ruleset: String) throws {
        try Self.run(ip, ["netns", "exec", host, nft, "-f", "-"], stdin: "flush ruleset\n" + ruleset)
    }

    /// The host namespace's ruleset, read as the product reads it, with
    /// iptables-nft-save's text when asked for.
    func model(nft: String, iptablesSave: String? = nil) throws -> FirewallModel {
        let json = try Self.run(ip, ["netns", "exec", host, nft, "-j", "list", "ruleset"])
        var save: [AddressFamily: String] = [:]
        if let iptablesSave { save[.ipv4] = try Self.run(ip, ["netns", "exec", host, iptablesSave]) }
        return try FirewallModel(nftJSON: Array(json.utf8), iptablesSave: save)
    }
}

@Suite(.serialized) struct PublishedPortNamespaceTests {
    static let nmap = FirewallHost.executable(["/usr/bin/nmap", "/usr/local/bin/nmap"])
    static let iptablesRestore = FirewallHost.executable(["/usr/sbin/iptables-nft-restore", "/sbin/iptables-nft-restore"])
    static let iptablesSave = FirewallHost.executable(["/usr/sbin/iptables-nft-save", "/sbin/iptables-nft-save"])

    static let ready: Bool = {
        guard FirewallHost.isRoot, let ip = FirewallHost.ip, FirewallHost.nft != nil, FirewallHost.python3 != nil, nmap != nil else {
            return false
        }
        let name = "\(PublishedPortLab.prefix)\(getpid())-probe"
        guard (try? PublishedPortLab.run(ip, ["netns", "add", name])) != nil else { return false }
        _ = try? PublishedPortLab.run(ip, ["netns", "del", name])
        return true
    }()

    /// The container's one listener, as the caller would read it in its namespace.
    static func containerNamespace(_ lab: PublishedPortLab) -> TargetNamespace {
        TargetNamespace(
            name: "container (\(lab.containerAddress))", addresses: [IPAddress(parsing: lab.containerAddress)!],
            listeners: [ListeningEndpoint(proto: .tcp, address: .anyV4, port: 80)])
    }

    /// Checks nmap against portcullis on the lab host: 8080 published and
    /// open, 22 allowed by the input chain but closed (nothing listens),
    /// 9090 dropped. Returns the published port's judgement.
    func check(_ lab: PublishedPortLab, _ model: FirewallModel, expectOpen: Bool) throws -> PublishedPortJudgement {
        let states = try lab.nmap(try #require(Self.nmap), ports: [22, 8080, 9090])
        #expect(states[8080] == (expectOpen ? "open" : "filtered"), "nmap: \(states)")
        #expect(states[22] == "closed", "nmap: \(states)")
        #expect(states[9090] == "filtered", "nmap: \(states)")

        let scan = model.publishedPorts()
        #expect(scan.diagnostics.isEmpty, "\(scan.diagnostics)")
        let port = try #require(scan.ports.first { $0.hostPorts == 8080...8080 }, "\(scan.ports.map(\.summary))")
        #expect(port.summary == "0.0.0.0:8080/tcp -> \(lab.containerAddress):80 (docker)")
        #expect(port.inputInterfaces == .except([PublishedPortLab.bridge]))
        let judgement = model.judge(port, context: PublishedPortContext(forwarding: true))
        // The oracle, both ways: open is reachable; filtered is never called reachable.
        #expect(judgement.reachableFromOtherHosts == expectOpen, "\(judgement.verdict.reason)")
        #expect(judgement.verdict.name == (expectOpen ? "reachable" : "filtered"), "\(judgement.verdict.reason)")
        #expect(judgement.inputChain.verdict.isFiltered, "\(judgement.inputChain.verdict.reason)")
        #expect(judgement.bypassesInput == expectOpen)
        // The host's own ports, judged on the input chain as listeners are.
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 9090, localAddress: .anyV4).isFiltered)
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4).name == "reachable")
        #expect(!scan.ports.contains { $0.hostPorts.contains(9090) || $0.hostPorts.contains(22) })
        return judgement
    }

    @Test(
        "a published port goes around the input chain, as a client outside sees it",
        .enabled(if: FirewallHost.isRoot, "needs root to create network namespaces"),
        .enabled(if: FirewallHost.ip != nil && FirewallHost.nft != nil, "needs ip and nft"),
        .enabled(if: FirewallHost.python3 != nil, "python3 runs the container's listener"),
        .enabled(if: nmap != nil, "nmap is the oracle: apt-get install nmap"),
        .enabled(if: ready, "network namespaces cannot be created here"), .timeLimit(.minutes(5)))
    func nftDNATBypassesInput() throws {
        let lab = try PublishedPortLab(ip: try #require(FirewallHost.ip))
        defer { lab.close() }
        let nft = try #require(FirewallHost.nft)
        try lab.startContainerListener(python3: try #require(FirewallHost.python3))
        try lab.loadNft(
            nft,
            """
            table inet filter {
              chain input {
                type filter hook input priority filter; policy drop;
                ct state established,related accept
                iif lo accept
                tcp dport 22 accept
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
              }
            }
            table ip nat {
              chain PREROUTING {
                type nat hook prerouting priority dstnat; policy accept;
                fib daddr type local jump DOCKER
              }
              chain DOCKER {
                iifname "\(PublishedPortLab.bridge)" return
                iifname != "\(PublishedPortLab.bridge)" tcp dport 8080 dnat to \(lab.containerAddress):80
              }
            }
            """)
        let model = try lab.model(nft: nft)
        let judgement = try check(lab, model, expectOpen: true)
        let port = try #require(model.publishedPorts().ports.first { $0.hostPorts == 8080...8080 })
        let findings = PublishedPortRules.findings(for: port, judgement: judgement, namespaces: [Self.containerNamespace(lab)])
        #expect(findings.map(\.rule) == [.publishedPortBypassesInput])

        // The fix the finding suggests, applied: a forward-hook drop of the published port.
        try PublishedPortLab.run(
            lab.ip,
            [
                "netns", "exec", lab.host, nft, "add", "rule", "inet", "filter", "forward", "meta", "l4proto", "tcp", "ct", "original",
                "proto-dst", "8080", "drop",
            ])
        let fixed = try check(lab, try lab.model(nft: nft), expectOpen: false)
        #expect(fixed.path.decidingRule?.chain == "forward")
    }

    @Test(
        "Docker's own iptables-nft rules, read with iptables-nft-save",
        .enabled(if: FirewallHost.isRoot, "needs root to create network namespaces"),
        .enabled(if: FirewallHost.ip != nil && FirewallHost.nft != nil, "needs ip and nft"),
        .enabled(if: FirewallHost.python3 != nil, "python3 runs the container's listener"),
        .enabled(if: nmap != nil, "nmap is the oracle: apt-get install nmap"),
        .enabled(if: iptablesRestore != nil && iptablesSave != nil, "iptables-nft is not installed: apt-get install iptables"),
        .enabled(if: ready, "network namespaces cannot be created here"), .timeLimit(.minutes(5)))
    func iptablesDockerBypassesInput() throws {
        let lab = try PublishedPortLab(ip: try #require(FirewallHost.ip))
        defer { lab.close() }
        let nft = try #require(FirewallHost.nft)
        let restore = try #require(Self.iptablesRestore)
        try lab.startContainerListener(python3: try #require(FirewallHost.python3))
        let bridge = PublishedPortLab.bridge
        let c = lab.containerAddress
        func rules(dockerUser: String) -> String {
            """
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            :DOCKER - [0:0]
            -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
            -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
            -A DOCKER -i \(bridge) -j RETURN
            -A DOCKER ! -i \(bridge) -p tcp -m tcp --dport 8080 -j DNAT --to-destination \(c):80
            COMMIT
            *filter
            :INPUT DROP [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            :DOCKER - [0:0]
            :DOCKER-ISOLATION-STAGE-1 - [0:0]
            :DOCKER-ISOLATION-STAGE-2 - [0:0]
            :DOCKER-USER - [0:0]
            -A INPUT -i lo -j ACCEPT
            -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
            -A FORWARD -j DOCKER-USER
            -A FORWARD -j DOCKER-ISOLATION-STAGE-1
            -A FORWARD -o \(bridge) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            -A FORWARD -o \(bridge) -j DOCKER
            -A FORWARD -i \(bridge) ! -o \(bridge) -j ACCEPT
            -A FORWARD -i \(bridge) -o \(bridge) -j ACCEPT
            -A DOCKER -d \(c)/32 ! -i \(bridge) -o \(bridge) -p tcp -m tcp --dport 80 -j ACCEPT
            -A DOCKER-ISOLATION-STAGE-1 -i \(bridge) ! -o \(bridge) -j DOCKER-ISOLATION-STAGE-2
            -A DOCKER-ISOLATION-STAGE-1 -j RETURN
            -A DOCKER-ISOLATION-STAGE-2 -o \(bridge) -j DROP
            -A DOCKER-ISOLATION-STAGE-2 -j RETURN
            \(dockerUser)
            -A DOCKER-USER -j RETURN
            COMMIT

            """
        }
        try PublishedPortLab.run(lab.ip, ["netns", "exec", lab.host, nft, "flush", "ruleset"])
        try PublishedPortLab.run(lab.ip, ["netns", "exec", lab.host, restore], stdin: rules(dockerUser: ""))
        // nft's JSON alone cannot say where the DNAT goes; with iptables-save it can.
        let blind = try lab.model(nft: nft).publishedPorts()
        #expect(blind.ports.first?.target == nil && blind.ports.first?.hostPorts == 8080...8080)
        let judgement = try check(lab, try lab.model(nft: nft, iptablesSave: Self.iptablesSave), expectOpen: true)
        #expect(judgement.path.decidingRule?.chain == "DOCKER", "\(judgement.verdict.reason)")

        // Docker's documented DOCKER-USER restriction by the published port (an xtables conntrack match).
        try PublishedPortLab.run(
            lab.ip, ["netns", "exec", lab.host, restore],
            stdin: rules(dockerUser: "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP"))
        let fixed = try check(lab, try lab.model(nft: nft, iptablesSave: Self.iptablesSave), expectOpen: false)
        #expect(fixed.path.decidingRule?.chain == "DOCKER-USER", "\(fixed.verdict.reason)")
    }
}
