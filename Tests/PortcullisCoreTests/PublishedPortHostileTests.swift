import Testing

@testable import PortcullisCore

/// Rulesets nft would refuse to load, or that no tool writes: loops,
/// missing chains, expressions portcullis does not know, NAT maps it
/// cannot read. The extraction must end, list what it can, and say what
/// it could not read.
enum HostileRuleset {
    static func json(_ items: [String]) -> [UInt8] {
        Array(
            ("{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}}, " + items.joined(separator: ", ") + "]}")
                .utf8)
    }

    static func table(_ family: String = "ip", _ name: String = "nat") -> String {
        "{\"table\": {\"family\": \"\(family)\", \"name\": \"\(name)\", \"handle\": 1}}"
    }

    static func base(
        _ name: String, hook: String = "prerouting", type: String = "nat", prio: Int = -100, policy: String = "accept",
        family: String = "ip", table: String = "nat"
    ) -> String {
        "{\"chain\": {\"family\": \"\(family)\", \"table\": \"\(table)\", \"name\": \"\(name)\", \"handle\": 1, \"type\": \"\(type)\", "
            + "\"hook\": \"\(hook)\", \"prio\": \(prio), \"policy\": \"\(policy)\"}}"
    }

    static func chain(_ name: String, family: String = "ip", table: String = "nat") -> String {
        "{\"chain\": {\"family\": \"\(family)\", \"table\": \"\(table)\", \"name\": \"\(name)\", \"handle\": 2}}"
    }

    static func rule(_ chain: String, _ exprs: String..., family: String = "ip", table: String = "nat", handle: Int = 10) -> String {
        "{\"rule\": {\"family\": \"\(family)\", \"table\": \"\(table)\", \"chain\": \"\(chain)\", \"handle\": \(handle), \"expr\": [\(exprs.joined(separator: ", "))]}}"
    }

    static func dport(_ port: Int, _ proto: String = "tcp") -> String {
        "{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"\(proto)\", \"field\": \"dport\"}}, \"right\": \(port)}}"
    }

    static func jump(_ target: String, _ kind: String = "jump") -> String { "{\"\(kind)\": {\"target\": \"\(target)\"}}" }

    static func dnat(_ address: String, _ port: Int) -> String { "{\"dnat\": {\"addr\": \"\(address)\", \"port\": \(port)}}" }
}

@Suite struct PublishedPortHostileTests {
    typealias H = HostileRuleset

    @Test func loopsEndAndAreReported() throws {
        let json = H.json([
            H.table(), H.base("PREROUTING"), H.chain("A"), H.chain("B"), H.chain("SELF"),
            H.rule("PREROUTING", H.jump("A"), handle: 3), H.rule("PREROUTING", H.jump("SELF", "goto"), handle: 4),
            H.rule("A", H.jump("B"), handle: 5),
            H.rule("B", H.jump("A"), handle: 6), H.rule("B", H.dport(8080), H.dnat("10.0.0.2", 80), handle: 7),
            H.rule("SELF", H.jump("SELF", "goto"), handle: 8),
        ])
        let model = try FirewallModel(nftJSON: json)
        let scan = model.publishedPorts()
        #expect(scan.ports.map(\.summary) == ["0.0.0.0:8080/tcp -> 10.0.0.2:80 (nft)"])
        #expect(scan.diagnostics.contains { $0.message.contains("jumps back into itself") && $0.message.contains("A") })
        #expect(scan.diagnostics.contains { $0.message.contains("SELF") })
        // The judgement and the listener evaluation end too.
        _ = model.judge(scan.ports[0])
        _ = model.verdict(proto: .tcp, family: .ipv4, port: 8080, localAddress: .anyV4)
    }

    @Test func missingChainsAndMapsAreReported() throws {
        let json = H.json([
            H.table(), H.base("PREROUTING"),
            H.rule("PREROUTING", H.jump("NOWHERE"), handle: 3),
            H.rule(
                "PREROUTING",
                "{\"vmap\": {\"key\": {\"payload\": {\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"data\": \"@missing\"}}", handle: 4),
        ])
        let scan = try FirewallModel(nftJSON: json).publishedPorts()
        #expect(scan.ports.isEmpty)
        #expect(scan.diagnostics.contains { $0.message.contains("NOWHERE") && $0.message.contains("does not exist") })
        #expect(scan.diagnostics.contains { $0.message.contains("@missing") })
    }

    /// An expression portcullis does not know, in front of a DNAT: the
    /// port is still listed, with the expression as a condition.
    @Test func unknownExpressionsBecomeConditions() throws {
        let json = H.json([
            H.table(), H.base("PREROUTING"),
            H.rule("PREROUTING", "{\"frobnicate\": {\"level\": 11}}", H.dport(8080), H.dnat("10.0.0.2", 80), handle: 3),
        ])
        let model = try FirewallModel(nftJSON: json)
        let scan = model.publishedPorts()
        let port = try #require(scan.ports.first)
        #expect(port.summary == "0.0.0.0:8080/tcp -> 10.0.0.2:80 (nft)")
        #expect(port.conditions.contains { $0.contains("frobnicate") }, "\(port.conditions)")
    }

    /// NAT targets portcullis cannot read: the host side is listed, the
    /// target is not guessed, a diagnostic says what was not understood.
    @Test(arguments: [
        (
            "{\"dnat\": {\"addr\": {\"map\": {\"key\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}}, "
                + "\"data\": {\"set\": [[\"192.0.2.1\", \"10.0.0.9\"]]}}}}}", "keyed by ip saddr"
        ),
        ("{\"dnat\": {\"port\": 80}}", "without an address"),
        ("{\"dnat\": {\"addr\": {\"symhash\": {\"mod\": 2}}}}", "address"),
        (
            "{\"dnat\": {\"addr\": \"10.0.0.2\", \"port\": {\"map\": {\"key\": {\"numgen\": {\"mode\": \"inc\", \"mod\": 2}}, \"data\": {\"set\": [[0, 80], [1, 81]]}}}}}",
            "port map"
        ),
    ])
    func unreadableTargets(_ statement: String, _ words: String) throws {
        let json = H.json([H.table(), H.base("PREROUTING"), H.rule("PREROUTING", H.dport(8080), statement, handle: 3)])
        let model = try FirewallModel(nftJSON: json)
        let scan = model.publishedPorts()
        let port = try #require(scan.ports.first, "\(scan.diagnostics)")
        #expect(port.hostPorts == 8080...8080 && port.proto == .tcp)
        #expect(port.target == nil)
        #expect(port.targetUnreadable?.contains(words) == true, "\(port.targetUnreadable ?? "")")
        #expect(scan.diagnostics.contains { $0.message.contains("cannot read where") }, "\(scan.diagnostics)")
        #expect(model.judge(port).verdict.name == "unknown")
    }

    @Test func deepNestingAndHugeFanOutEnd() throws {
        var items = [H.table(), H.base("PREROUTING")]
        // 40 chains deep.
        for depth in 0..<40 {
            items.append(H.chain("D\(depth)"))
            items.append(H.rule(depth == 0 ? "PREROUTING" : "D\(depth - 1)", H.jump("D\(depth)"), handle: 1000 + depth))
        }
        items.append(H.rule("D39", H.dport(1), H.dnat("10.0.0.1", 1), handle: 2000))
        // 3 levels of 60 jumps each: 216,000 rule visits, more than the budget.
        for level in 0..<3 { items.append(H.chain("F\(level)")) }
        var handle = 3000
        for level in 0..<3 {
            let from = level == 0 ? "PREROUTING" : "F\(level - 1)"
            for _ in 0..<60 {
                items.append(H.rule(from, H.jump("F\(level)"), handle: handle))
                handle += 1
            }
        }
        let scan = try FirewallModel(nftJSON: H.json(items)).publishedPorts()
        #expect(scan.diagnostics.contains { $0.message.contains("nest deeper") })
        #expect(scan.diagnostics.contains { $0.message.contains("too large to follow") })
    }

    /// A REDIRECT leads to this host: judged through the input hook, where
    /// `ct status dnat` holds.
    @Test func redirectIsJudgedOnInput() throws {
        let model = try FirewallFixture.model("nat")
        let scan = model.publishedPorts()
        #expect(Set(scan.ports.map(\.summary)) == ["0.0.0.0:80/tcp -> this host:8080 (nft)", "0.0.0.0:8443/tcp -> 192.0.2.5:443 (nft)"])
        let redirect = try #require(scan.ports.first { $0.target?.isThisHost == true })
        let judged = model.judge(redirect)
        #expect(judged.verdict.name == "reachable" && judged.verdict.reason.contains("ct status dnat"), "\(judged.verdict.reason)")
        #expect(judged.inputChain.verdict.isFiltered)
        // The DNAT to another host meets no forward chain: forwarded, around the input policy drop.
        let forwarded = try #require(scan.ports.first { $0.target?.address != nil })
        let fj = model.judge(forwarded)
        #expect(fj.verdict.reason.contains("no nftables forward chain") && fj.bypassesInput)
    }

    /// IPv6 and inet tables: the family follows the table, or the NAT's own.
    @Test func familiesFollowTheTable() throws {
        let json = H.json([
            H.table("ip6"), H.base("PREROUTING", family: "ip6"),
            H.rule("PREROUTING", H.dport(8080), "{\"dnat\": {\"addr\": \"fd00::2\", \"port\": 80}}", family: "ip6", handle: 3),
            H.table("inet", "mixed"), H.base("pre", family: "inet", table: "mixed"),
            H.rule(
                "pre", H.dport(9090, "udp"), "{\"dnat\": {\"family\": \"ip\", \"addr\": \"10.0.0.3\", \"port\": 90}}", family: "inet",
                table: "mixed", handle: 4),
            H.rule("pre", H.dport(7070), "{\"redirect\": {\"port\": 7000}}", family: "inet", table: "mixed", handle: 5),
        ])
        let scan = try FirewallModel(nftJSON: json).publishedPorts()
        #expect(
            Set(scan.ports.map(\.summary)) == [
                "[::]:8080/tcp -> [fd00::2]:80 (nft)", "0.0.0.0:9090/udp -> 10.0.0.3:90 (nft)",
                "0.0.0.0:7070/tcp -> this host:7000 (nft)", "[::]:7070/tcp -> this host:7000 (nft)",
            ])
        #expect(scan.ports.first { $0.family == .ipv6 && $0.target?.address != nil }?.exposure == .allInterfacesIPv6)
    }

    /// Rules no hook reaches publish nothing.
    @Test func unreachableRulesDoNotCount() throws {
        let json = H.json([
            H.table(), H.base("PREROUTING"), H.chain("ORPHAN"), H.base("POSTROUTING", hook: "postrouting", prio: 100),
            H.base("FILTERPRE", type: "filter", prio: 0),
            H.rule("ORPHAN", H.dport(1111), H.dnat("10.0.0.1", 1), handle: 3),
            H.rule("POSTROUTING", H.dport(2222), H.dnat("10.0.0.1", 2), handle: 4),
            H.rule("FILTERPRE", H.dport(3333), H.jump("ORPHAN"), handle: 5),
        ])
        let scan = try FirewallModel(nftJSON: json).publishedPorts()
        #expect(scan.ports.isEmpty, "\(scan.ports.map(\.summary))")
    }
}
