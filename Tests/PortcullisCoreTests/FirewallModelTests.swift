import Testing

@testable import PortcullisCore

/// Fixtures/nft/<shape>.json are real `nft -j list ruleset` output of the
/// <shape>.nft beside them, captured by capture.sh in a throwaway network
/// namespace with nftables 1.0.6.
enum FirewallFixture {
    static func model(_ shape: String) throws -> FirewallModel {
        try FirewallModel(nftJSON: try TestFiles.fixture("nft/\(shape).json"))
    }
}

/// One expectation: a listener, the verdict, and words its reason must contain.
struct FirewallCase: Sendable, CustomTestStringConvertible {
    var shape: String
    var proto: TransportProtocol
    var port: UInt16
    var family: AddressFamily
    var address: String?
    var verdict: String
    var reason: [String]

    init(
        _ shape: String, _ proto: TransportProtocol, _ port: UInt16, _ family: AddressFamily, at address: String? = nil,
        _ verdict: String, _ reason: String...
    ) {
        self.shape = shape
        self.proto = proto
        self.port = port
        self.family = family
        self.address = address
        self.verdict = verdict
        self.reason = reason
    }

    /// IPv4, unless an IPv6 address is given.
    init(
        _ shape: String, _ proto: TransportProtocol, _ port: UInt16, at address: String? = nil,
        _ verdict: String, _ reason: String...
    ) {
        self.shape = shape
        self.proto = proto
        self.port = port
        self.family = address?.contains(":") == true && !(address?.hasPrefix("::ffff:") ?? false) ? .ipv6 : .ipv4
        self.address = address
        self.verdict = verdict
        self.reason = reason
    }

    var listenerAddress: IPAddress {
        address.flatMap { IPAddress(parsing: $0) } ?? (family == .ipv4 ? .anyV4 : .anyV6)
    }

    var testDescription: String {
        "\(shape): \(proto)/\(port) \(family)\(address.map { " at \($0)" } ?? "") is \(verdict)"
    }
}

@Suite struct FirewallModelTests {
    static let cases: [FirewallCase] = [
        // No ruleset at all.
        .init("empty", .tcp, 22, "reachable", "no nftables input chain"),
        .init("empty", .udp, 53, .ipv6, "reachable", "no nftables input chain"),

        // Policy drop with accepts by port and anonymous set.
        .init("policy-drop-basic", .tcp, 22, "reachable", "tcp dport 22 accept", "inet filter input, handle 7"),
        .init("policy-drop-basic", .tcp, 22, .ipv6, "reachable", "tcp dport 22 accept"),
        .init("policy-drop-basic", .tcp, 443, .ipv6, "reachable", "tcp dport { 80, 443 } counter accept"),
        .init("policy-drop-basic", .udp, 53, "reachable", "udp dport 53 accept"),
        .init("policy-drop-basic", .tcp, 53, "filtered", "dropped by the policy drop of chain inet filter input"),
        .init("policy-drop-basic", .udp, 22, .ipv6, "filtered", "policy drop"),
        .init("policy-drop-basic", .tcp, 8080, "filtered", "policy drop"),

        // Policy accept with explicit drops and rejects.
        .init("policy-accept-drops", .tcp, 22, "reachable", "the policy accept of chain inet filter input"),
        .init("policy-accept-drops", .tcp, 23, "filtered", "dropped by rule \"tcp dport 23 drop\"", "handle 3"),
        .init("policy-accept-drops", .tcp, 8000, "filtered", "tcp dport 8000-8100 drop"),
        .init("policy-accept-drops", .tcp, 8100, .ipv6, "filtered", "tcp dport 8000-8100 drop"),
        .init("policy-accept-drops", .tcp, 8101, "reachable", "policy accept"),
        .init("policy-accept-drops", .udp, 8050, "reachable", "policy accept"),
        .init("policy-accept-drops", .udp, 161, "filtered", "rejected by rule \"udp dport 161 reject"),
        .init("policy-accept-drops", .tcp, 3306, "filtered", "reject with tcp reset"),
        .init("policy-accept-drops", .tcp, 5900, .ipv6, "filtered", "reject with icmpx admin-prohibited"),
        .init("policy-accept-drops", .tcp, 9999, "filtered", "th dport 9999 drop"),
        .init("policy-accept-drops", .udp, 9999, .ipv6, "filtered", "th dport 9999 drop"),
        .init("policy-accept-drops", .udp, 11211, "filtered", "udp dport 11211 drop"),
        .init("policy-accept-drops", .tcp, 11211, "reachable", "policy accept"),
        .init("policy-accept-drops", .tcp, 6379, "filtered", "tcp dport 6379 log counter drop"),
        .init("policy-accept-drops", .tcp, 2375, "filtered", "ip protocol tcp tcp dport 2375 drop"),
        .init("policy-accept-drops", .tcp, 2375, .ipv6, "reachable", "policy accept"),
        .init("policy-accept-drops", .tcp, 9000, "reachable", "policy accept"),
        // `ip6 nexthdr tcp` is the first header only: a SYN behind an IPv6
        // extension header is not rejected, so the port is not filtered.
        .init("policy-accept-drops", .tcp, 9000, .ipv6, "reachable", "for packets where not ip6 nexthdr tcp"),

        // Named sets with ranges and intervals.
        .init("named-sets", .tcp, 22, "reachable", "tcp dport @allowed_tcp accept"),
        .init("named-sets", .tcp, 8000, .ipv6, "reachable", "@allowed_tcp"),
        .init("named-sets", .tcp, 8100, "reachable", "@allowed_tcp"),
        .init("named-sets", .tcp, 8050, "filtered", "tcp dport @blocked_tcp drop"),
        .init("named-sets", .tcp, 8059, .ipv6, "filtered", "@blocked_tcp"),
        .init("named-sets", .tcp, 8101, "filtered", "policy drop"),
        .init("named-sets", .udp, 123, .ipv6, "reachable", "udp dport @allowed_udp accept"),
        .init("named-sets", .udp, 22, "filtered", "policy drop"),

        // Source restrictions: reachable from some sources, never filtered.
        .init("source-restricted", .tcp, 5432, "reachable", "reachable only when ip saddr 10.0.0.0/8"),
        .init("source-restricted", .tcp, 5432, .ipv6, "reachable", "reachable only when ip6 saddr fd00::/8"),
        .init("source-restricted", .tcp, 22, "reachable", "ip saddr { 192.0.2.0/24, 198.51.100.7 }", "@admins4"),
        .init("source-restricted", .tcp, 22, .ipv6, "filtered", "policy drop"),
        // `ip saddr != 192.168.0.0/16 ... drop` then accept: only 192.168/16 gets in.
        .init("source-restricted", .tcp, 6379, "reachable", "reachable only when ip saddr 192.168.0.0/16"),
        .init("source-restricted", .tcp, 6379, .ipv6, "reachable", "tcp dport 6379 accept"),
        // The accept for 10.1/16 is shadowed by the drop of 10/8 before it.
        .init("source-restricted", .tcp, 8443, "filtered", "policy drop", "ip saddr 10.0.0.0/8 tcp dport 8443 drop"),
        // A source port is the sender's choice: that is no restriction.
        .init("source-restricted", .udp, 5353, "reachable", "for packets where udp sport 53"),

        // Local addresses.
        .init("daddr", .tcp, 80, "reachable", "reachable only when ip daddr 192.0.2.10"),
        .init("daddr", .tcp, 80, at: "192.0.2.10", "reachable", "ip daddr 192.0.2.10 tcp dport 80 accept"),
        .init("daddr", .tcp, 80, at: "192.0.2.11", "filtered", "policy drop"),
        .init("daddr", .tcp, 80, .ipv6, at: "2001:db8::10", "reachable", "ip6 daddr 2001:db8::10"),
        .init("daddr", .tcp, 80, .ipv6, at: "2001:db8::11", "filtered", "policy drop"),
        .init("daddr", .tcp, 80, at: "::ffff:192.0.2.10", "reachable", "ip daddr 192.0.2.10"),
        .init("daddr", .tcp, 81, "reachable", "ip daddr 192.0.2.20/31"),
        .init("daddr", .tcp, 81, at: "192.0.2.21", "reachable", "tcp dport 81 accept"),
        .init("daddr", .tcp, 82, at: "192.0.2.30", "filtered", "policy drop"),
        .init("daddr", .tcp, 82, "reachable", "ip daddr != 192.0.2.30"),
        .init("daddr", .tcp, 83, "reachable", "tcp dport 83 accept"),
        .init("daddr", .tcp, 83, at: "127.0.0.1", "reachable", "loopback only"),

        // jump, goto, return.
        .init("jumps", .tcp, 22, "reachable", "rule \"tcp dport 22 accept\" (ip filter tcp_services"),
        .init("jumps", .tcp, 25, "reachable", "ip filter more_tcp,"),
        .init("jumps", .tcp, 26, "reachable", "ip filter more_tcp_gate"),
        .init("jumps", .tcp, 110, "filtered", "tcp dport 110 drop"),
        .init("jumps", .tcp, 111, "filtered", "the policy drop of chain ip filter input"),
        .init("jumps", .udp, 123, "reachable", "ip filter udp_services"),
        // return from a chain entered by goto ends the base chain: its policy.
        .init("jumps", .udp, 514, "filtered", "the policy drop of chain ip filter input"),
        .init("jumps", .tcp, 22, .ipv6, "filtered", "ip6 filter6 input"),
        .init("jumps", .tcp, 25, .ipv6, "reachable", "the policy accept of chain ip6 filter6 input"),

        // Several base chains: every one must accept.
        .init("multiple-base", .tcp, 22, "reachable", "inet first input", "ip second input"),
        .init("multiple-base", .tcp, 22, .ipv6, "reachable", "inet first input"),
        .init("multiple-base", .tcp, 23, "filtered", "tcp dport 23 drop"),
        .init("multiple-base", .tcp, 80, "reachable", "ip second input"),
        .init("multiple-base", .tcp, 80, .ipv6, "reachable", "policy accept"),
        .init("multiple-base", .udp, 53, "filtered", "the policy drop of chain ip second input"),
        .init("multiple-base", .tcp, 9090, .ipv6, "filtered", "inet raw prerouting"),
        // notrack in raw prerouting, then `ct state untracked drop` on input.
        .init("multiple-base", .udp, 4000, .ipv6, "filtered", "ct state untracked drop"),
        .init("multiple-base", .udp, 4002, .ipv6, "reachable", "policy accept"),

        // Host state: never filtered when it could let packets in.
        .init("opaque", .tcp, 22, "unknown", "limit rate 10/minute", "handle 9", "inet filter input"),
        .init("opaque", .tcp, 80, "unknown", "ct count over 100"),
        .init("opaque", .udp, 53, .ipv6, "unknown", "quota over 10 mbytes"),
        .init("opaque", .tcp, 1000, "unknown", "meta mark 1"),
        .init("opaque", .tcp, 3333, "unknown", "meta mark 2"),
        .init("opaque", .tcp, 8080, "unknown", "meta skuid 0"),
        .init("opaque", .tcp, 5555, "unknown", "limit rate over 3/minute"),
        .init("opaque", .tcp, 7150, "unknown", "@dynports"),
        .init("opaque", .tcp, 7500, "unknown", "@dynports"),
        .init("opaque", .tcp, 23, "filtered", "policy drop"),
        .init("opaque", .tcp, 443, "reachable", "fib daddr type local accept", "not ip saddr @f2b"),
        .init("opaque", .tcp, 2222, .ipv6, "reachable", "tcp dport 2222 accept"),
        // A port-knocking set: reachable from the sources that knocked.
        .init("opaque", .tcp, 2200, "reachable", "reachable only when ip saddr @knocked"),
        // Every path drops, whatever the rate.
        .init("opaque", .tcp, 4444, "filtered", "policy drop", "limit rate over 5/second drop"),
        .init("opaque", .udp, 23, "filtered", "policy drop"),

        // Verdict maps on keys the model knows, and one it does not.
        .init("vmap", .tcp, 22, "reachable", "tcp dport vmap"),
        .init("vmap", .tcp, 23, .ipv6, "filtered", "tcp dport vmap"),
        .init("vmap", .tcp, 25, "reachable", "reachable only when ip saddr 192.0.2.0/24", "inet filter smtp"),
        .init("vmap", .udp, 123, "reachable", "inet filter udp_in"),
        .init("vmap", .tcp, 8080, "reachable", "tcp dport vmap @portmap"),
        .init("vmap", .tcp, 8081, "filtered", "tcp dport vmap @portmap"),
        .init("vmap", .tcp, 9999, "unknown", "meta mark vmap"),

        // Destination NAT.
        .init("nat", .tcp, 22, "reachable", "tcp dport 22 accept"),
        .init("nat", .tcp, 80, "unknown", "redirect", "ip nat prerouting"),
        .init("nat", .tcp, 8443, "unknown", "dnat"),
        // Redirected here from port 80, then accepted by `ct status dnat`.
        .init("nat", .tcp, 8080, "reachable", "reachable only when ct status dnat"),
        // No NAT rule leads to this port: `ct status dnat` cannot hold.
        .init("nat", .udp, 22, "filtered", "policy drop"),
        .init("nat", .tcp, 80, .ipv6, "filtered", "policy drop"),

        // Hardening idioms.
        .init("hardening", .tcp, 22, "reachable", "tcp dport 22 accept", "not fib saddr . iif oif missing"),
        .init("hardening", .udp, 22, "filtered", "policy drop"),
        .init("hardening", .tcp, 2022, "reachable", "tcp flags == syn"),
        .init("hardening", .tcp, 2023, .ipv6, "reachable", "tcp flags syn tcp dport 2023 accept"),
        .init("hardening", .tcp, 3000, "reachable", "reachable only when iifname \"eth0\""),
        .init("hardening", .tcp, 3001, "reachable", "reachable only when iifname \"wg*\""),
        .init("hardening", .tcp, 3002, .ipv6, "reachable", "reachable only when iifname { \"eth1\", \"eth2\" }"),
        // Only loopback-type devices; the packet is from another host.
        .init("hardening", .tcp, 3003, "filtered", "policy drop"),
        .init("hardening", .udp, 5353, "reachable", "udp dport 5353 accept", "meta pkttype host"),
        .init("hardening", .tcp, 7000, "reachable", "ip ttl 1"),
        .init("hardening", .tcp, 8080, "filtered", "policy drop"),

        // Concatenations.
        .init("concat", .tcp, 22, "reachable", "reachable only when ip saddr 10.0.0.0/8"),
        .init("concat", .tcp, 80, "reachable", "reachable only when ip saddr 192.168.0.0/16"),
        .init("concat", .tcp, 22, .ipv6, "filtered", "policy drop"),
        .init("concat", .udp, 443, .ipv6, "reachable", "meta l4proto . th dport @svc accept"),
        .init("concat", .tcp, 8443, "reachable", "@svc"),
        .init("concat", .udp, 8443, "filtered", "policy drop"),

        // An ingress chain whose device nft 1.0.6 leaves out of its JSON.
        .init("ingress", .tcp, 7000, "reachable", "not the packet arrives on the device of ingress chain netdev edge ingress"),
        .init("ingress", .tcp, 7001, "filtered", "tcp dport 7001 drop"),
        .init("ingress", .tcp, 22, .ipv6, "reachable", "the policy accept of chain inet filter input"),

        // iptables-nft: xt extensions whose options the JSON does not carry.
        .init("iptables-nft", .tcp, 22, "reachable", "tcp dport 22 xt comment counter accept"),
        .init("iptables-nft", .udp, 53, "reachable", "udp dport 53 counter accept"),
        .init("iptables-nft", .tcp, 9999, "unknown", "cannot judge xt match \"conntrack\" (an iptables-nft rule", "ip filter INPUT"),
        .init("iptables-nft", .tcp, 80, "unknown", "iptables-nft"),
        .init(
            "iptables-nft", .tcp, 25, .ipv6, "filtered", "rejected by rule \"tcp dport 25 counter reject with xt REJECT\"",
            "ip6 filter INPUT"),
        .init("iptables-nft", .tcp, 9999, .ipv6, "filtered", "the policy drop of chain ip6 filter INPUT"),
    ]

    @Test(arguments: cases)
    func verdict(_ c: FirewallCase) throws {
        let model = try FirewallFixture.model(c.shape)
        let verdict = model.verdict(proto: c.proto, family: c.family, port: c.port, localAddress: c.listenerAddress)
        #expect(verdict.name == c.verdict, "\(verdict.reason)")
        for words in c.reason {
            #expect(verdict.reason.contains(words), "reason lacks \(words.debugDescription): \(verdict.reason)")
        }
    }

    @Test func restrictionsSayWhoCanConnect() throws {
        let restricted = try FirewallFixture.model("source-restricted")
        let postgres = restricted.evaluate(proto: .tcp, family: .ipv4, port: 5432, localAddress: .anyV4)
        #expect(postgres.restrictions == ["ip saddr 10.0.0.0/8"])
        #expect(postgres.isRestricted)
        let redis = restricted.evaluate(proto: .tcp, family: .ipv4, port: 6379, localAddress: .anyV4)
        #expect(redis.restrictions == ["ip saddr 192.168.0.0/16"])
        // A source port and a blocklist are no restriction on who connects.
        let mdns = restricted.evaluate(proto: .udp, family: .ipv4, port: 5353, localAddress: .anyV4)
        #expect(!mdns.isRestricted)
        #expect(mdns.conditions == ["udp sport 53"])
        let blocklisted = try FirewallFixture.model("opaque").evaluate(proto: .tcp, family: .ipv4, port: 2222, localAddress: .anyV4)
        #expect(blocklisted.verdict.name == "reachable")
        #expect(!blocklisted.isRestricted)
        #expect(blocklisted.conditions == ["not ip saddr @f2b"])
        // Open to all: no conditions at all.
        let ssh = try FirewallFixture.model("policy-drop-basic").evaluate(proto: .tcp, family: .ipv6, port: 22, localAddress: .anyV6)
        #expect(ssh.conditions.isEmpty && ssh.restrictions.isEmpty)
    }

    /// "Never filtered when unsure": across every fixture and a spread of
    /// ports, a filtered verdict names the drop or reject that decided it,
    /// and any port some rule accepts on a path that hidden state could
    /// open is never filtered.
    @Test func filteredAlwaysNamesTheDrop() throws {
        let shapes = [
            "empty", "policy-drop-basic", "policy-accept-drops", "named-sets", "source-restricted", "daddr", "jumps",
            "multiple-base", "opaque", "vmap", "nat", "hardening", "concat", "ingress", "iptables-nft",
        ]
        var ports: [UInt16] =
            Array(0...130) + [
                161, 443, 514, 1000, 2022, 2023, 2200, 2222, 2375, 3000, 3001, 3002, 3003, 3306, 3333,
                4000, 4001, 4444, 5353, 5432, 5555, 5900, 6379, 6666, 7000, 7001, 7150, 8000, 8050,
                8080, 8081, 8100, 8443, 9000, 9090, 9999, 11211, 65535,
            ]
        ports.sort()
        for shape in shapes {
            let model = try FirewallFixture.model(shape)
            for port in ports {
                for proto in [TransportProtocol.tcp, .udp] {
                    for (family, address) in [(AddressFamily.ipv4, IPAddress.anyV4), (.ipv6, .anyV6)] {
                        let v = model.verdict(proto: proto, family: family, port: port, localAddress: address)
                        #expect(!v.reason.isEmpty)
                        if v.isFiltered {
                            #expect(
                                v.reason.hasPrefix("dropped by") || v.reason.hasPrefix("rejected by"),
                                "\(shape) \(proto)/\(port): \(v.reason)")
                        }
                    }
                }
            }
        }
        let opaque = try FirewallFixture.model("opaque")
        for port: UInt16 in [22, 80, 1000, 3333, 5555, 8080, 7100, 7199, 7500] {
            #expect(!opaque.verdict(proto: .tcp, family: .ipv4, port: port, localAddress: .anyV4).isFiltered, "tcp/\(port)")
        }
    }

    @Test func rawSocketsAndNotesAreExplained() throws {
        let model = try FirewallFixture.model("policy-drop-basic")
        #expect(model.verdict(proto: .raw, family: .ipv4, port: 0, localAddress: .anyV4).name == "unknown")
        #expect(model.notes.isEmpty)
        #expect(model.nftVersion == "1.0.6")
        #expect(model.baseChainCounts == [.input: 1, .forward: 1, .output: 1])
        let iptables = try FirewallFixture.model("iptables-nft")
        #expect(iptables.notes.count == 1)
        #expect(iptables.notes.first?.contains("ip filter") == true)
    }
}
