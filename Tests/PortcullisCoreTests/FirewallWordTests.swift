import Testing

@testable import PortcullisCore

/// The words of nft's JSON that the evaluator reasons about are enums; a
/// word it does not know is kept and judged as it always was.
@Suite struct FirewallWordTests {
    /// One table `t` with one base chain `c` and, in it, `tcp dport OP 22 accept`.
    func ruleset(
        family: String = "inet", hook: String = "input", type: String = "filter", policy: String = "drop",
        op: String = "=="
    ) -> [UInt8] {
        let text = """
            {"nftables": [{"metainfo": {"version": "1.0.6"}},
              {"table": {"family": "\(family)", "name": "t", "handle": 1}},
              {"chain": {"family": "\(family)", "table": "t", "name": "c", "handle": 1, "type": "\(type)", "hook": "\(hook)",
                         "prio": 0, "policy": "\(policy)"}},
              {"rule": {"family": "\(family)", "table": "t", "chain": "c", "handle": 2, "expr": [
                {"match": {"op": "\(op)", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
                {"accept": null}]}}]}
            """
        return Array(text.utf8)
    }

    func verdict(_ bytes: [UInt8], port: UInt16 = 22) throws -> FirewallVerdict {
        try FirewallModel(nftJSON: bytes).verdict(proto: .tcp, family: .ipv4, port: port, localAddress: .anyV4)
    }

    @Test func knownWordsAreJudged() throws {
        #expect(try verdict(ruleset()) == .reachable("accepted by rule \"tcp dport 22 accept\" (inet t c, handle 2)"))
        #expect(try verdict(ruleset(), port: 80) == .filtered("dropped by the policy drop of chain inet t c"))
        #expect(
            try verdict(ruleset(family: "ip", op: "!="), port: 80)
                == .reachable("accepted by rule \"tcp dport != 22 accept\" (ip t c, handle 2)"))
        #expect(try verdict(ruleset(family: "ip6")) == .reachable("no nftables input chain"))
    }

    @Test func unknownWordsAreJudgedAsBefore() throws {
        // A family or hook it does not model: the chain is not entered.
        #expect(try verdict(ruleset(family: "frob")) == .reachable("no nftables input chain"))
        #expect(try verdict(ruleset(hook: "frob")) == .reachable("no nftables input chain"))
        #expect(try FirewallModel(nftJSON: ruleset(hook: "frob")).baseChainCounts == [.other("frob"): 1])
        // A chain type it does not know changes nothing it judges.
        #expect(try verdict(ruleset(type: "frob"), port: 80) == .filtered("dropped by the policy drop of chain inet t c"))
        // A policy it cannot read: unknown, never filtered.
        #expect(try verdict(ruleset(policy: "frob"), port: 80) == .unknown("cannot judge the policy frob of chain inet t c"))
        // An operator it cannot read: the match is a condition it cannot see.
        let op = try verdict(ruleset(op: "~="))
        #expect(op.name == "unknown" && op.reason.contains("tcp dport ~= 22"), "\(op)")
    }

    /// nft's spellings, as the decoder reads them and reasons print them.
    @Test func spellings() {
        #expect(NftFamily.named.map(\.jsonName) == ["ip", "ip6", "inet", "arp", "bridge", "netdev"])
        #expect(NftHook.named.map(\.jsonName) == ["ingress", "prerouting", "input", "forward", "output", "postrouting", "egress"])
        #expect(NftChainType.named.map(\.jsonName) == ["filter", "nat", "route"])
        #expect(NftChainPolicy.named.map(\.jsonName) == ["accept", "drop"])
        #expect(NftMatchOperator.named.map(\.jsonName) == ["==", "!=", "<", ">", "<=", ">=", "in"])
        #expect(NftBinaryOperator.allCases.map(\.rawValue) == ["&", "|", "^", "<<", ">>"])
        #expect(NftNatKind.allCases.map(\.rawValue) == ["snat", "dnat", "masquerade", "redirect"])
        // Reading a spelling gives the named case, never `.other`; anything else is kept.
        #expect(NftFamily.named.allSatisfy { NftFamily(json: $0.jsonName) == $0 })
        #expect(NftHook.named.allSatisfy { NftHook(json: $0.jsonName) == $0 })
        #expect(NftChainType.named.allSatisfy { NftChainType(json: $0.jsonName) == $0 })
        #expect(NftChainPolicy.named.allSatisfy { NftChainPolicy(json: $0.jsonName) == $0 })
        #expect(NftMatchOperator.named.allSatisfy { NftMatchOperator(json: $0.jsonName) == $0 })
        #expect(NftMatchOperator(json: "~=") == .other("~=") && NftMatchOperator.other("~=").jsonName == "~=")
        #expect(NftHook(json: "Input") == .other("Input"))
        #expect(HookPoint(hook: .prerouting, bridged: true, priority: 0).name == "bridge-prerouting")
        #expect(HookPoint(hook: .input, priority: 0).name == "input")
    }
}
