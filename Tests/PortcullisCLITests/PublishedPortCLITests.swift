import Foundation
import Testing

struct PublishedJSON: Decodable {
    struct Range: Decodable {
        var from: Int
        var to: Int
    }
    struct Target: Decodable {
        var address: String?
        var ports: Range
    }
    struct Owner: Decodable { var pid: Int32 }
    var tool: String
    var hostPorts: Range
    var target: Target?
    var targetNetnsName: String?
    var reachableFromOtherHosts: Bool
    var bypassesInput: Bool
    var owners: [Owner]
    var findings: [String]
}

struct PublishedAuditDocument: Decodable {
    struct Listener: Decodable {
        struct Namespace: Decodable { var name: String? }
        var localPort: Int
        var netns: Namespace?
        var verdictReason: String
        var reachable: Bool
    }
    var publishedPorts: [PublishedJSON]
    var listeners: [Listener]
}

/// Three namespaces as a container host publishes a container: the host
/// (`hostAddress` toward the client, `bridgeAddress` toward the container,
/// IPv4 forwarding on), the container (`containerAddress`, its default route
/// through the host) and a client (`clientAddress`). Each test passes its own
/// two /16 prefixes so labs never share addresses.
struct PublishingLab {
    let host: TestNamespace
    let container: TestNamespace
    let client: TestNamespace
    let hostAddress: String
    let clientAddress: String
    let bridgeAddress: String
    let containerAddress: String

    init(outside: String, inside: String) throws {
        host = try TestNamespace()
        container = try TestNamespace()
        client = try TestNamespace()
        let subnet = Int.random(in: 0...255)
        (hostAddress, clientAddress) = ("\(outside).\(subnet).1", "\(outside).\(subnet).2")
        (bridgeAddress, containerAddress) = ("\(inside).\(subnet).1", "\(inside).\(subnet).2")
        for command in [
            ["ip", "-n", host.name, "link", "add", "vhost", "type", "veth", "peer", "name", "vcli", "netns", client.name],
            ["ip", "-n", host.name, "link", "add", "pcbr0", "type", "veth", "peer", "name", "eth0", "netns", container.name],
            ["ip", "-n", host.name, "addr", "add", "\(hostAddress)/30", "dev", "vhost"],
            ["ip", "-n", client.name, "addr", "add", "\(clientAddress)/30", "dev", "vcli"],
            ["ip", "-n", host.name, "addr", "add", "\(bridgeAddress)/30", "dev", "pcbr0"],
            ["ip", "-n", container.name, "addr", "add", "\(containerAddress)/30", "dev", "eth0"],
            ["ip", "-n", host.name, "link", "set", "vhost", "up"], ["ip", "-n", host.name, "link", "set", "pcbr0", "up"],
            ["ip", "-n", client.name, "link", "set", "vcli", "up"], ["ip", "-n", container.name, "link", "set", "eth0", "up"],
            ["ip", "-n", container.name, "route", "add", "default", "via", bridgeAddress],
            ["ip", "netns", "exec", host.name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
        ] {
            try TestNamespace.must(command)
        }
    }
}

extension CLITests {
    /// The lab: one namespace plays the host (input policy drop, a
    /// Docker-style DNAT from 8080 to the container's port 80, forwarding
    /// on), one the container (a listener on 80), one a client outside.
    /// nmap from the client is the oracle.
    @Suite("Published ports: open on the host with no host socket")
    struct PublishedPorts {
        static let nmap = Host.executable("nmap", preferring: ["/usr/bin/nmap"])
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil && nmap != nil
            && Host.executable("nft", preferring: ["/usr/sbin/nft", "/sbin/nft"]) != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

        @Test(
            "nmap finds 8080 open through the DNAT; portcullis lists it, leading to the container's listener, and flags the input bypass",
            .enabled(if: canRun, "needs network namespaces, root, python3, nmap, nft and ip"), .timeLimit(.minutes(5)))
        func dnatBypass() throws {
            let lab = try PublishingLab(outside: "10.226", inside: "10.227")
            let (host, container, client) = (lab.host, lab.container, lab.client)
            let (hostAddress, containerAddress) = (lab.hostAddress, lab.containerAddress)
            try host.loadRuleset(
                """
                table inet filter {
                    chain input { type filter hook input priority 0; policy drop; iifname "lo" accept; ct state established,related accept; }
                    chain forward { type filter hook forward priority 0; policy accept; }
                }
                table ip nat {
                    chain prerouting { type nat hook prerouting priority dstnat; iifname != "pcbr0" tcp dport 8080 dnat to \(containerAddress):80; }
                    chain postrouting { type nat hook postrouting priority srcnat; oifname "pcbr0" masquerade; }
                }
                """)
            try container.startPython(namespaceListener(port: 80))

            // The oracle: what a client outside finds.
            let scan = try Subprocess.run(
                "/usr/bin/env",
                [
                    "ip", "netns", "exec", client.name, try #require(Self.nmap), "-sT", "-Pn", "-n", "-p", "22,80,8080", "-oG", "-",
                    hostAddress,
                ],
                timeout: 120)
            #expect(scan.out.contains("8080/open"), "\(scan)")
            #expect(!scan.out.contains("22/open") && !scan.out.contains(" 80/open"), "\(scan)")

            // portcullis, run where the host's firewall is (ip netns exec HOST), as root: every namespace.
            let result = try host.runPortcullis(["audit", "--no-policy", "--format", "json"])
            #expect(result.status == 1, "a high finding: \(result)")
            let document = try decodeJSON(PublishedAuditDocument.self, result.stdout)
            let published = try #require(document.publishedPorts.first { $0.hostPorts.from == 8080 }, "\(result)")
            #expect(published.tool == "nft")
            #expect(published.target?.address == containerAddress && published.target?.ports.from == 80)
            #expect(published.targetNetnsName == container.name)
            #expect(published.reachableFromOtherHosts)
            #expect(published.bypassesInput)
            #expect(published.findings.contains("published-port-bypasses-input"))
            #expect(!published.owners.isEmpty, "owned by the container's listener: \(published)")
            // The container's listener, reached through the publication.
            // (Every namespace is read: other tests' namespaces may have a port 80 too.)
            let behind = try #require(document.listeners.first { $0.localPort == 80 && $0.netns?.name == container.name })
            #expect(behind.reachable)
            #expect(behind.verdictReason.hasPrefix("published on 0.0.0.0:8080/tcp by nft"), "\(behind)")
            // Nothing nmap found closed or filtered is called reachable.
            #expect(!document.listeners.contains { $0.netns?.name == host.name && $0.reachable })

            // The overview shows it too, in words.
            let overview = try host.runPortcullis(["--no-policy"])
            #expect(overview.out.contains("Published ports (1)"), "\(overview)")
            #expect(overview.out.contains("0.0.0.0:8080/tcp -> \(containerAddress):80 in \(container.name) (nft)"), "\(overview)")
        }
    }
}
