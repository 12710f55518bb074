import Foundation
import Testing

@testable import PortcullisCore

/// Fixtures/published/<shape>.json are real `nft -j list ruleset` output
/// of the rules the container tools write, loaded with the real nft or
/// iptables-nft-restore in a throwaway namespace by generate.sh; the
/// iptables shapes have the matching `iptables-nft-save` text beside them.
enum PublishedFixture {
    static let iptablesShapes = [
        "docker-classic", "docker-user-drop", "docker-28", "netavark-iptables", "cni-portmap-iptables", "kube-proxy-iptables",
    ]
    static let nftShapes = ["docker-nftables", "netavark-nftables", "cni-portmap-nftables", "kube-proxy-nftables", "admin-dnat"]

    static func json(_ shape: String) throws -> [UInt8] { try TestFiles.fixture("published/\(shape).json") }

    static func save(_ shape: String) throws -> String {
        String(decoding: try TestFiles.fixture("published/\(shape).iptables-save"), as: UTF8.self)
    }

    /// The model, with the iptables-save text joined when the shape has one (and `withSave`).
    static func model(_ shape: String, withSave: Bool = true) throws -> FirewallModel {
        let save = withSave && iptablesShapes.contains(shape) ? [AddressFamily.ipv4: try save(shape)] : [:]
        return try FirewallModel(nftJSON: try json(shape), iptablesSave: save)
    }

    /// A ruleset JSON with more nft objects appended (a rule an administrator adds).
    static func adding(_ objects: [[String: Any]], to shape: String) throws -> [UInt8] {
        var document = try JSONSerialization.jsonObject(with: Data(try json(shape))) as? [String: Any] ?? [:]
        document["nftables"] = (document["nftables"] as? [Any] ?? []) + objects
        return [UInt8](try JSONSerialization.data(withJSONObject: document))
    }
}

/// One published port a fixture must yield, and how it must be judged.
struct PublishedCase: Sendable, CustomTestStringConvertible {
    var shape: String
    var endpoint: String
    var target: String
    var tool: PublishingTool
    var verdict: String
    var reason: String
    var bypass: Bool
    var reachable: Bool

    init(
        _ shape: String, _ endpoint: String, _ target: String, _ tool: PublishingTool, _ verdict: String, _ reason: String,
        bypass: Bool = false, reachable: Bool = true
    ) {
        self.shape = shape
        self.endpoint = endpoint
        self.target = target
        self.tool = tool
        self.verdict = verdict
        self.reason = reason
        self.bypass = bypass
        self.reachable = reachable
    }

    var testDescription: String { "\(shape) \(endpoint) -> \(target)" }
}

@Suite struct PublishedPortFixtureTests {
    static let cases: [PublishedCase] = [
        // Docker 20-27, iptables-nft: every published port goes around INPUT's policy drop.
        .init("docker-classic", "0.0.0.0:8080/tcp", "172.17.0.2:80", .docker, "reachable", "(ip filter DOCKER, handle 17)", bypass: true),
        .init(
            "docker-classic", "127.0.0.1:6379/tcp", "172.17.0.3:6379", .docker, "reachable", "published on loopback only", reachable: false),
        .init(
            "docker-classic", "0.0.0.0:27017/tcp", "172.17.0.5:27017", .docker, "reachable", "(ip filter DOCKER, handle 19)", bypass: true),
        .init("docker-classic", "0.0.0.0:1053/udp", "172.17.0.6:53", .docker, "reachable", "udp dport 53", bypass: true),
        // The administrator's DOCKER-USER rules: a drop, and a source restriction.
        .init(
            "docker-user-drop", "0.0.0.0:8080/tcp", "172.17.0.2:80", .docker, "filtered",
            "dropped by rule \"ip daddr 172.17.0.2 tcp dport 80",
            reachable: false),
        .init(
            "docker-user-drop", "0.0.0.0:27017/tcp", "172.17.0.5:27017", .docker, "reachable",
            "reachable only when ip saddr 192.168.1.0/24",
            bypass: true),
        .init("docker-user-drop", "0.0.0.0:1053/udp", "172.17.0.6:53", .docker, "reachable", "(ip filter DOCKER, handle 20)", bypass: true),
        // Docker 28: no input firewall, so no bypass; raw PREROUTING's direct-access drops do not meet the published port.
        .init("docker-28", "0.0.0.0:8080/tcp", "172.17.0.2:80", .docker, "reachable", "(ip filter DOCKER, handle 12)"),
        .init("docker-28", "127.0.0.1:6379/tcp", "172.17.0.3:6379", .docker, "reachable", "published on loopback only", reachable: false),
        // Docker 29's nftables backend.
        .init(
            "docker-nftables", "0.0.0.0:8080/tcp", "192.0.2.2:80", .docker, "reachable",
            "(ip docker-bridges filter-forward-in__bridge1, handle",
            bypass: true),
        .init(
            "docker-nftables", "127.0.0.1:9200/tcp", "192.0.2.3:9200", .docker, "reachable", "published on loopback only", reachable: false),
        // netavark's nftables driver: its FORWARD accepts by the connection mark the DNAT rule sets.
        .init(
            "netavark-nftables", "0.0.0.0:8080/tcp", "10.88.0.2:80", .netavark, "reachable", "ct mark & 4096 == 4096 accept", bypass: true),
        .init("netavark-nftables", "127.0.0.1:5432/tcp", "10.88.0.3:5432", .netavark, "reachable", "loopback only", reachable: false),
        .init(
            "netavark-nftables", "0.0.0.0:9000/tcp", "10.88.0.4:9000", .netavark, "reachable", "(inet netavark FORWARD, handle 16)",
            bypass: true),
        .init(
            "netavark-nftables", "0.0.0.0:9002/tcp", "10.88.0.4:9002", .netavark, "reachable", "(inet netavark FORWARD, handle 16)",
            bypass: true),
        // netavark's iptables driver, with the base-port range DNAT.
        .init(
            "netavark-iptables", "0.0.0.0:8080/tcp", "10.88.0.2:80", .netavark, "reachable", "policy accept of chain ip filter FORWARD",
            bypass: true),
        .init(
            "netavark-iptables", "0.0.0.0:9000-9002/tcp", "10.88.0.4:9000-9002", .netavark, "reachable",
            "policy accept of chain ip filter FORWARD",
            bypass: true),
        // CNI portmap, both backends.
        .init("cni-portmap-iptables", "0.0.0.0:8080/tcp", "10.22.0.5:80", .cni, "reachable", "policy accept of chain ip filter FORWARD"),
        .init("cni-portmap-iptables", "192.168.0.2:5353/udp", "10.22.0.5:53", .cni, "reachable", "policy accept"),
        .init("cni-portmap-nftables", "0.0.0.0:8080/tcp", "10.22.0.5:80", .cni, "reachable", "no nftables forward chain"),
        .init("cni-portmap-nftables", "192.168.0.2:5353/udp", "10.22.0.5:53", .cni, "reachable", "no nftables forward chain"),
        // kube-proxy, iptables mode: ClusterIPs, an ExternalIP with two endpoints, a LoadBalancer with source ranges, NodePorts.
        .init(
            "kube-proxy-iptables", "172.30.0.41:80/tcp", "10.180.0.1:80", .kubeProxy, "reachable",
            "policy accept of chain ip filter FORWARD"),
        .init(
            "kube-proxy-iptables", "192.168.99.33:80/tcp", "10.180.0.4:80", .kubeProxy, "reachable", "(ip filter KUBE-FORWARD, handle 23)"),
        .init("kube-proxy-iptables", "192.168.99.33:80/tcp", "10.180.0.5:80", .kubeProxy, "reachable", "meta mark & 16384 == 16384"),
        .init(
            "kube-proxy-iptables", "5.6.7.8:80/tcp", "10.180.0.3:80", .kubeProxy, "reachable",
            "reachable only when ip saddr 203.0.113.0/25",
            bypass: true),
        .init("kube-proxy-iptables", "0.0.0.0:3003/tcp", "10.180.0.3:80", .kubeProxy, "reachable", "(ip filter KUBE-FORWARD, handle 23)"),
        .init("kube-proxy-iptables", "0.0.0.0:3002/tcp", "10.180.0.3:80", .kubeProxy, "reachable", "KUBE-FORWARD"),
        // kube-proxy, nftables mode: NodePorts on the node's addresses (@nodeport-ips).
        .init("kube-proxy-nftables", "172.30.0.41:80/tcp", "10.180.0.1:80", .kubeProxy, "reachable", "ip kube-proxy filter-forward"),
        .init("kube-proxy-nftables", "192.168.99.33:80/tcp", "10.180.0.5:80", .kubeProxy, "reachable", "ip kube-proxy filter-forward"),
        .init(
            "kube-proxy-nftables", "5.6.7.8:80/tcp", "10.180.0.3:80", .kubeProxy, "reachable", "reachable only when ip saddr 203.0.113.0/25"
        ),
        .init("kube-proxy-nftables", "192.168.0.2:3003/tcp", "10.180.0.3:80", .kubeProxy, "reachable", "ip kube-proxy filter-forward"),
        .init("kube-proxy-nftables", "192.168.0.2:3002/tcp", "10.180.0.3:80", .kubeProxy, "reachable", "ip kube-proxy filter-forward"),
        // By hand: port, address only, range, source, inline and named NAT maps.
        .init(
            "admin-dnat", "0.0.0.0:8080/tcp", "10.0.0.2:80", .nft, "reachable", "policy accept of chain inet filter forward", bypass: true),
        .init("admin-dnat", "0.0.0.0:2222/tcp", "10.0.0.3:2222", .nft, "reachable", "forward", bypass: true),
        .init(
            "admin-dnat", "0.0.0.0:60000-60010/udp", "10.0.0.4:60000-60010", .nft, "reachable", "reachable only when iifname \"eth0\"",
            bypass: true),
        .init(
            "admin-dnat", "0.0.0.0:8443/tcp", "10.0.0.5:443", .nft, "reachable", "reachable only when ip saddr 198.51.100.0/24",
            bypass: true),
        .init("admin-dnat", "0.0.0.0:9200/tcp", "10.0.0.6:9200", .nft, "reachable", "forward", bypass: true),
        .init("admin-dnat", "0.0.0.0:3389/tcp", "10.0.0.7:3389", .nft, "reachable", "forward", bypass: true),
        .init("admin-dnat", "0.0.0.0:5900/tcp", "10.0.0.8:5900", .nft, "reachable", "forward", bypass: true),
    ]

    @Test(arguments: cases)
    func publishedAndJudged(_ c: PublishedCase) throws {
        let model = try PublishedFixture.model(c.shape)
        let scan = model.publishedPorts()
        let port = try #require(
            scan.ports.first { $0.hostEndpoint == c.endpoint && $0.target?.description == c.target },
            "not found; found: \(scan.ports.map(\.summary))")
        #expect(port.tool == c.tool)
        let judgement = model.judge(port)
        #expect(judgement.verdict.name == c.verdict, "\(judgement.verdict.reason)")
        #expect(judgement.verdict.reason.contains(c.reason), "\(judgement.verdict.reason)")
        #expect(judgement.bypassesInput == c.bypass, "input: \(judgement.inputChain.verdict.reason)")
        #expect(judgement.reachableFromOtherHosts == c.reachable)
        if case .reachable = judgement.verdict, c.reachable, !c.reason.contains("policy"), !c.reason.contains("chain") {
            // A rule decided: it is named in the structured reference too;
            // a chain's policy decided: no rule is named.
            if judgement.verdict.reason.contains("policy") {
                #expect(judgement.path.decidingRule == nil, "\(judgement.verdict.reason)")
            } else {
                #expect(judgement.path.decidingRule != nil, "\(judgement.verdict.reason)")
            }
        }
    }

    /// Every published port of every fixture, exactly: nothing missing, nothing invented.
    @Test func everyPortOfEveryFixture() throws {
        let expected: [String: Set<String>] = [
            "docker-classic": [
                "0.0.0.0:8080/tcp -> 172.17.0.2:80 (docker)", "127.0.0.1:6379/tcp -> 172.17.0.3:6379 (docker)",
                "0.0.0.0:27017/tcp -> 172.17.0.5:27017 (docker)", "0.0.0.0:1053/udp -> 172.17.0.6:53 (docker)",
            ],
            "docker-28": ["0.0.0.0:8080/tcp -> 172.17.0.2:80 (docker)", "127.0.0.1:6379/tcp -> 172.17.0.3:6379 (docker)"],
            "docker-nftables": ["0.0.0.0:8080/tcp -> 192.0.2.2:80 (docker)", "127.0.0.1:9200/tcp -> 192.0.2.3:9200 (docker)"],
            "netavark-nftables": [
                "0.0.0.0:8080/tcp -> 10.88.0.2:80 (netavark)", "127.0.0.1:5432/tcp -> 10.88.0.3:5432 (netavark)",
                "0.0.0.0:9000/tcp -> 10.88.0.4:9000 (netavark)", "0.0.0.0:9001/tcp -> 10.88.0.4:9001 (netavark)",
                "0.0.0.0:9002/tcp -> 10.88.0.4:9002 (netavark)",
            ],
            "netavark-iptables": [
                "0.0.0.0:8080/tcp -> 10.88.0.2:80 (netavark)", "0.0.0.0:9000-9002/tcp -> 10.88.0.4:9000-9002 (netavark)",
            ],
            "cni-portmap-iptables": ["0.0.0.0:8080/tcp -> 10.22.0.5:80 (cni)", "192.168.0.2:5353/udp -> 10.22.0.5:53 (cni)"],
            "cni-portmap-nftables": ["0.0.0.0:8080/tcp -> 10.22.0.5:80 (cni)", "192.168.0.2:5353/udp -> 10.22.0.5:53 (cni)"],
            "kube-proxy-iptables": [
                "172.30.0.41:80/tcp -> 10.180.0.1:80 (kube-proxy)", "172.30.0.43:80/tcp -> 10.180.0.3:80 (kube-proxy)",
                "172.30.0.44:80/tcp -> 10.180.0.4:80 (kube-proxy)", "172.30.0.44:80/tcp -> 10.180.0.5:80 (kube-proxy)",
                "192.168.99.33:80/tcp -> 10.180.0.4:80 (kube-proxy)", "192.168.99.33:80/tcp -> 10.180.0.5:80 (kube-proxy)",
                "172.30.0.45:80/tcp -> 10.180.0.3:80 (kube-proxy)", "5.6.7.8:80/tcp -> 10.180.0.3:80 (kube-proxy)",
                "0.0.0.0:3003/tcp -> 10.180.0.3:80 (kube-proxy)", "0.0.0.0:3002/tcp -> 10.180.0.3:80 (kube-proxy)",
            ],
            "kube-proxy-nftables": [
                "172.30.0.41:80/tcp -> 10.180.0.1:80 (kube-proxy)", "172.30.0.43:80/tcp -> 10.180.0.3:80 (kube-proxy)",
                "172.30.0.44:80/tcp -> 10.180.0.4:80 (kube-proxy)", "172.30.0.44:80/tcp -> 10.180.0.5:80 (kube-proxy)",
                "192.168.99.33:80/tcp -> 10.180.0.4:80 (kube-proxy)", "192.168.99.33:80/tcp -> 10.180.0.5:80 (kube-proxy)",
                "172.30.0.45:80/tcp -> 10.180.0.3:80 (kube-proxy)", "5.6.7.8:80/tcp -> 10.180.0.3:80 (kube-proxy)",
                "192.168.0.2:3003/tcp -> 10.180.0.3:80 (kube-proxy)", "192.168.0.2:3002/tcp -> 10.180.0.3:80 (kube-proxy)",
            ],
            "admin-dnat": [
                "0.0.0.0:8080/tcp -> 10.0.0.2:80 (nft)", "0.0.0.0:2222/tcp -> 10.0.0.3:2222 (nft)",
                "0.0.0.0:60000-60010/udp -> 10.0.0.4:60000-60010 (nft)", "0.0.0.0:8443/tcp -> 10.0.0.5:443 (nft)",
                "0.0.0.0:9200/tcp -> 10.0.0.6:9200 (nft)", "0.0.0.0:3389/tcp -> 10.0.0.7:3389 (nft)",
                "0.0.0.0:5900/tcp -> 10.0.0.8:5900 (nft)",
            ],
        ]
        for (shape, summaries) in expected {
            let scan = try PublishedFixture.model(shape).publishedPorts()
            #expect(Set(scan.ports.map(\.summary)) == summaries, "\(shape)")
            #expect(scan.ports.count == summaries.count, "\(shape): duplicates in \(scan.ports.map(\.summary))")
            #expect(scan.diagnostics.isEmpty, "\(shape): \(scan.diagnostics)")
        }
    }

    @Test func rulePathAndConditionsAreKept() throws {
        let scan = try PublishedFixture.model("docker-classic").publishedPorts()
        let web = try #require(scan.ports.first { $0.hostPorts == 8080...8080 })
        #expect(web.rule?.family == "ip" && web.rule?.table == "nat" && web.rule?.chain == "DOCKER")
        #expect(web.rule?.handle == 14)
        #expect(web.rule?.path == ["PREROUTING", "DOCKER"])
        #expect(web.rule?.text.contains("dnat to 172.17.0.2:80") == false)
        #expect(web.rule?.text.contains("-j DNAT --to-destination 172.17.0.2:80") == true)
        #expect(web.inputInterfaces == .except(["docker0"]))
        #expect(web.inputInterfaces.isLimited)
        #expect(web.fromOtherHosts && web.fromThisHost)
        #expect(web.conditions.isEmpty, "\(web.conditions)")
        #expect(web.exposure == .allInterfacesIPv4)
        #expect(web.isOnEveryAddress)
        // Docker's output hook skips loopback: the 127.0.0.1 port is only reached from prerouting.
        let redis = try #require(scan.ports.first { $0.hostPorts == 6379...6379 })
        #expect(redis.fromOtherHosts && !redis.fromThisHost)
        #expect(redis.exposure == .loopback)

        let admin = try PublishedFixture.model("admin-dnat").publishedPorts()
        let rdp = try #require(admin.ports.first { $0.hostPorts == 3389...3389 })
        #expect(rdp.rule?.text.contains("dnat ip to tcp dport map @forwards") == true, "\(rdp.rule?.text ?? "")")
        let restricted = try #require(admin.ports.first { $0.hostPorts == 8443...8443 })
        #expect(restricted.conditions == ["ip saddr 198.51.100.0/24"])
        let range = try #require(admin.ports.first { $0.proto == .udp })
        #expect(range.inputInterfaces == .only(["eth0"]))
        #expect(range.targetPort(forHostPort: 60005) == 60005)
        // Port only in the target: the address changes, the port stays.
        let ssh = try #require(admin.ports.first { $0.hostPorts == 2222...2222 })
        #expect(ssh.targetPort(forHostPort: 2222) == 2222)
        #expect(!admin.ports.contains { $0.fromThisHost }, "admin-dnat has no nat output chain")
    }

    @Test func loadBalancedEndpointsAreMarked() throws {
        for shape in ["kube-proxy-iptables", "kube-proxy-nftables"] {
            let scan = try PublishedFixture.model(shape).publishedPorts()
            let external = scan.ports.filter { $0.hostAddress?.description == "192.168.99.33" }
            #expect(external.count == 2 && external.allSatisfy(\.loadBalanced), "\(shape)")
            let single = try #require(scan.ports.first { $0.hostAddress?.description == "172.30.0.41" })
            #expect(!single.loadBalanced, "\(shape)")
        }
    }

    /// Without iptables-save's text, an iptables-nft DNAT's target is
    /// unknown: the host side is still listed, the target is said to be
    /// unreadable, and the judgement is unknown, never reachable or filtered.
    @Test func iptablesNftWithoutSaveTextSaysWhatItCannotRead() throws {
        for shape in PublishedFixture.iptablesShapes {
            let model = try PublishedFixture.model(shape, withSave: false)
            let scan = model.publishedPorts()
            #expect(!scan.ports.isEmpty, "\(shape)")
            #expect(scan.ports.allSatisfy { $0.target == nil && $0.targetUnreadable?.contains("iptables-save") == true }, "\(shape)")
            let dnatRules = Set(scan.ports.compactMap { $0.rule.map { "\($0.chain) \($0.handle ?? -1)" } })
            #expect(scan.diagnostics.count == dnatRules.count, "\(shape): one diagnostic per rule: \(scan.diagnostics)")
            for port in scan.ports where port.exposure != .loopback {
                #expect(model.judge(port).verdict.name == "unknown", "\(shape) \(port.summary)")
            }
        }
        let withSave = try PublishedFixture.model("docker-classic")
        #expect(withSave.notes.isEmpty, "\(withSave.notes)")
    }

    /// The fixes the bypass finding suggests do close the port.
    @Test func suggestedForwardDropCloses() throws {
        let drop: [[String: Any]] = [
            ["table": ["family": "inet", "name": "portcullis-test", "handle": 99]],
            [
                "chain": [
                    "family": "inet", "table": "portcullis-test", "name": "forward", "handle": 1, "type": "filter", "hook": "forward",
                    "prio": 0, "policy": "accept",
                ]
            ],
            [
                "rule": [
                    "family": "inet", "table": "portcullis-test", "chain": "forward", "handle": 2,
                    "expr": [
                        ["match": ["op": "==", "left": ["meta": ["key": "l4proto"]], "right": "tcp"]],
                        ["match": ["op": "==", "left": ["ct": ["key": "proto-dst", "dir": "original"]], "right": 8080]],
                        ["drop": NSNull()],
                    ] as [Any],
                ]
            ],
        ]
        for shape in ["docker-classic", "netavark-nftables", "admin-dnat", "docker-nftables"] {
            let save = PublishedFixture.iptablesShapes.contains(shape) ? [AddressFamily.ipv4: try PublishedFixture.save(shape)] : [:]
            let model = try FirewallModel(nftJSON: try PublishedFixture.adding(drop, to: shape), iptablesSave: save)
            let scan = model.publishedPorts()
            let port = try #require(scan.ports.first { $0.hostPorts == 8080...8080 })
            let judgement = model.judge(port)
            #expect(judgement.verdict.isFiltered, "\(shape): \(judgement.verdict.reason)")
            #expect(judgement.path.decidingRule?.table == "portcullis-test", "\(shape)")
            #expect(!judgement.bypassesInput)
            // Other ports stay as they were.
            if let other = scan.ports.first(where: { $0.hostPorts != 8080...8080 && $0.exposure != .loopback }) {
                #expect(!model.judge(other).verdict.isFiltered, "\(shape) \(other.summary)")
            }
        }
    }

    /// The host facts the ruleset does not carry.
    @Test func contextChangesTheJudgement() throws {
        let model = try PublishedFixture.model("docker-classic")
        let scan = model.publishedPorts()
        let web = try #require(scan.ports.first { $0.hostPorts == 8080...8080 })
        // Forwarding off: nothing is forwarded.
        let off = model.judge(web, context: PublishedPortContext(forwarding: false))
        #expect(off.verdict.isFiltered && off.verdict.reason.contains("net.ipv4.ip_forward"))
        // The route leaves by another interface than docker0: Docker's DOCKER chain is not reached.
        let elsewhere = model.judge(web, context: PublishedPortContext(outputInterface: "br-other"))
        #expect(elsewhere.verdict.isFiltered, "\(elsewhere.verdict.reason)")
        // A loopback publication with route_localnet on is judged along the path (classic Docker has no raw drop).
        let redis = try #require(scan.ports.first { $0.hostPorts == 6379...6379 })
        let localnet = model.judge(redis, context: PublishedPortContext(routeLocalnet: true))
        #expect(localnet.reachableFromOtherHosts && localnet.verdict.name == "reachable", "\(localnet.verdict.reason)")
        // Docker 28's "DROP REMOTE LOOPBACK" raw rule stops exactly that.
        let modern = try PublishedFixture.model("docker-28")
        let modernRedis = try #require(modern.publishedPorts().ports.first { $0.hostPorts == 6379...6379 })
        let dropped = modern.judge(modernRedis, context: PublishedPortContext(routeLocalnet: true))
        #expect(dropped.verdict.isFiltered, "\(dropped.verdict.reason)")
        #expect(dropped.path.decidingRule?.table == "raw")
    }

    /// A snapshot without a model, or with legacy tables loaded, never claims more than it knows.
    @Test func snapshotJudgementIsCautious() throws {
        let model = try PublishedFixture.model("admin-dnat")
        let port = try #require(model.publishedPorts().ports.first)
        let unavailable = FirewallSnapshot(source: .unavailable("nft is not installed"))
        let unknown = unavailable.judge(port)
        #expect(unknown.verdict.name == "unknown" && unknown.reachableFromOtherHosts && !unknown.bypassesInput)
        let legacy = FirewallSnapshot(source: .nftables(model), legacyIPv4Tables: ["filter"])
        let weakened = legacy.judge(port)
        #expect(weakened.verdict.name == "unknown" && weakened.verdict.reason.contains("legacy"))
        #expect(!weakened.bypassesInput)
    }
}
