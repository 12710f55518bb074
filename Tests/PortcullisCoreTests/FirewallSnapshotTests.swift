import Foundation
import PortcullisTestSupport
import Testing

@testable import PortcullisCore

@Suite struct FirewallSnapshotTests {
    func entry(_ proto: TransportProtocol, _ address: String, _ port: UInt16, v6only: Bool? = nil) throws -> InventoryEntry {
        let local = try #require(IPAddress(parsing: address))
        let family: AddressFamily = local.kind == .v4 ? .ipv4 : .ipv6
        let socket = SocketRecord(
            proto: proto, family: family, localAddress: local, localPort: port,
            remoteAddress: family == .ipv4 ? .anyV4 : .anyV6, remotePort: 0,
            stateCode: proto == .tcp ? SocketState.listen.rawValue : SocketState.close.rawValue, inode: 1, uid: 0, v6only: v6only)
        return InventoryEntry(
            socket: socket, user: "root", portClass: PortClass(port: port), inEphemeralRange: false, service: nil,
            exposure: Exposure(localAddress: local, v6only: v6only), owners: [], unownedReason: .notCollected)
    }

    // MARK: entries

    @Test func dualStackSocketsAreJudgedForBothFamilies() throws {
        let jumps = try FirewallFixture.model("jumps")
        // IPv4 drops port 80 by policy, IPv6 accepts it: reachable over IPv6.
        let v = jumps.verdict(for: try entry(.tcp, "::", 80, v6only: false))
        #expect(v.name == "reachable")
        #expect(v.reason.hasPrefix("IPv4 filtered: dropped by the policy drop of chain ip filter input; IPv6 reachable:"))
        // Unknown v6only is judged the wider way: dual-stack.
        #expect(jumps.verdict(for: try entry(.tcp, "::", 80)).reason.hasPrefix("IPv4 filtered"))
        // With IPV6_V6ONLY only IPv6 counts.
        let v6only = jumps.verdict(for: try entry(.tcp, "::", 22, v6only: true))
        #expect(v6only.name == "filtered")
        #expect(!v6only.reason.contains("IPv4"))

        let basic = try FirewallFixture.model("policy-drop-basic")
        let both = basic.verdict(for: try entry(.tcp, "::", 8080, v6only: false))
        #expect(both.name == "filtered")
        #expect(both.reason.contains("IPv4 filtered") && both.reason.contains("IPv6 filtered"))
        let opaque = try FirewallFixture.model("opaque")
        #expect(opaque.verdict(for: try entry(.tcp, "::", 22, v6only: false)).name == "unknown")
        // Filtered for IPv4 but unknown for IPv6 is unknown, not filtered.
        #expect(FirewallVerdict.combine(v4: .filtered("a"), v6: .unknown("b")).name == "unknown")
    }

    @Test func specificAndMappedAddressesAreJudgedAsThemselves() throws {
        let daddr = try FirewallFixture.model("daddr")
        #expect(daddr.verdict(for: try entry(.tcp, "192.0.2.10", 80)).name == "reachable")
        #expect(daddr.verdict(for: try entry(.tcp, "192.0.2.11", 80)).name == "filtered")
        // An IPv6 socket bound to an IPv4-mapped address takes IPv4 traffic.
        #expect(daddr.verdict(for: try entry(.tcp, "::ffff:192.0.2.10", 80)).name == "reachable")
        #expect(daddr.verdict(for: try entry(.tcp, "::ffff:192.0.2.11", 80)).name == "filtered")
    }

    @Test func loopbackAndRawSocketsAreNotJudged() throws {
        let basic = try FirewallFixture.model("policy-drop-basic")
        for address in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let v = basic.verdict(for: try entry(.tcp, address, 8080))
            #expect(v == .reachable("listener is loopback only; firewall not consulted"), "\(address)")
        }
        #expect(basic.verdict(for: try entry(.raw, "0.0.0.0", 0)).name == "unknown")
    }

    // MARK: snapshots

    @Test func legacyIPTablesMakeAnAcceptUncertainButNotADrop() throws {
        let snapshot = FirewallSnapshot(source: .nftables(try FirewallFixture.model("policy-drop-basic")), legacyIPv4Tables: ["filter"])
        let ssh4 = snapshot.verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4)
        #expect(ssh4.name == "unknown")
        #expect(ssh4.reason.contains("iptables (legacy) tables are loaded (filter); portcullis reads nftables only"))
        // An nftables drop is final whatever iptables says.
        #expect(snapshot.verdict(proto: .tcp, family: .ipv4, port: 8080, localAddress: .anyV4).name == "filtered")
        // No legacy IPv6 tables: IPv6 is judged by nftables alone.
        #expect(snapshot.verdict(proto: .tcp, family: .ipv6, port: 22, localAddress: .anyV6).name == "reachable")
        #expect(snapshot.verdict(for: try entry(.tcp, "::", 22, v6only: false)).name == "reachable")
    }

    @Test func anUnreadableFirewallIsUnknownWithTheReason() throws {
        let snapshot = FirewallSnapshot(source: .unavailable("nft (nftables) is not installed"), legacyIPv4Tables: ["filter", "nat"])
        #expect(snapshot.model == nil)
        let v = snapshot.verdict(for: try entry(.udp, "0.0.0.0", 53))
        #expect(v.name == "unknown")
        #expect(
            v.reason == "nft (nftables) is not installed; iptables (legacy) tables are loaded (filter, nat); portcullis reads nftables only"
        )
        #expect(snapshot.verdict(for: try entry(.udp, "127.0.0.1", 53)).name == "reachable")
        #expect(
            FirewallSnapshot(source: .unavailable("x")).verdict(proto: .tcp, family: .ipv6, port: 1, localAddress: .anyV6) == .unknown("x"))
        #expect(
            snapshot.diagnostics.map(\.description) == [
                "warning: firewall not read: nft (nftables) is not installed; firewall verdicts are unknown",
                "notice: firewall: iptables (legacy) IPv4 tables are loaded (filter, nat); portcullis reads nftables only, "
                    + "so no IPv4 port is judged reachable through them",
            ])
        let iptablesNFT = FirewallSnapshot(source: .nftables(try FirewallFixture.model("iptables-nft")))
        #expect(iptablesNFT.diagnostics.count == 1)
        #expect(iptablesNFT.diagnostics.first?.message.contains("iptables-nft rules with xtables extensions in table ip filter") == true)
    }

    // MARK: robustness

    /// The real policy-drop-basic document, changed by `edit`.
    func edited(_ edit: (inout [JSONValue]) -> Void) throws -> [UInt8] {
        let document = try JSONValue.parse(try TestFiles.fixture("nft/policy-drop-basic.json"))
        var items = try #require(document.jsonMember("nftables")?.jsonArray)
        edit(&items)
        return Array(JSONValue.object([("nftables", .array(items))]).serialized().utf8)
    }

    /// Replaces the body of the rule with `handle`.
    func replacingRule(_ handle: Int64, in items: inout [JSONValue], with transform: ([(String, JSONValue)]) -> [(String, JSONValue)]) {
        for (i, item) in items.enumerated() {
            guard let rule = item.jsonMember("rule"), rule.jsonMember("handle")?.jsonInt == handle, let fields = rule.jsonObject else {
                continue
            }
            items[i] = .object([("rule", .object(transform(fields)))])
        }
    }

    @Test func malformedDocumentsAreErrorsNotGuesses() throws {
        #expect(throws: FirewallError.malformedJSON(JSONParseError(.unexpectedEnd, at: 13))) {
            try FirewallModel(nftJSON: Array(#"{"nftables": "#.utf8))
        }
        #expect(throws: FirewallError.unexpectedStructure("no top-level \"nftables\" array")) {
            try FirewallModel(nftJSON: Array(#"{"ruleset": []}"#.utf8))
        }
        // A base chain whose priority cannot be read could hide a drop policy.
        let noPriority = try edited { items in
            for (i, item) in items.enumerated() {
                guard let chain = item.jsonMember("chain"), chain.jsonMember("hook") != nil, let fields = chain.jsonObject else { continue }
                items[i] = .object([("chain", .object(fields.filter { $0.0 != "prio" }))])
            }
        }
        #expect(throws: FirewallError.self) { try FirewallModel(nftJSON: noPriority) }
    }

    @Test func unknownExpressionsMakeTheirPathsUnknown() throws {
        // The ssh accept rule (handle 7) with an expression nft may add one day.
        let future = try edited { items in
            replacingRule(7, in: &items) { fields in
                fields.map { key, value in
                    guard key == "expr", var exprs = value.jsonArray else { return (key, value) }
                    exprs.insert(.object([("frobnicate", .object([("level", .int(3))]))]), at: 1)
                    return (key, .array(exprs))
                }
            }
        }
        let model = try FirewallModel(nftJSON: future)
        let ssh = model.verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4)
        #expect(ssh.name == "unknown")
        #expect(ssh.reason.contains("unsupported expression \"frobnicate\""))
        #expect(ssh.reason.contains("handle 7"))
        // Ports the rule cannot apply to are judged as before.
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 80, localAddress: .anyV4).name == "reachable")
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 8080, localAddress: .anyV4).name == "filtered")

        let noExpr = try edited { items in replacingRule(7, in: &items) { $0.filter { $0.0 != "expr" } } }
        let broken = try FirewallModel(nftJSON: noExpr).verdict(proto: .tcp, family: .ipv4, port: 8080, localAddress: .anyV4)
        #expect(broken.name == "unknown")
        #expect(broken.reason.contains("rule without an expr list"))
    }

    @Test func aFloatInAFieldNoOneReadsIsHarmless() throws {
        let bytes = try edited { items in
            items.insert(.object([("future", .object([("ratio", .string("PLACEHOLDER"))]))]), at: 1)
        }
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"PLACEHOLDER\"", with: "0.75")
        let model = try FirewallModel(nftJSON: Array(text.utf8))
        #expect(model.verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4).name == "reachable")
    }

    /// Thousands of single-address drop rules (an old blocklist script)
    /// stay linear: one fork per rule, bounded state per path.
    @Test func longBlocklistsStayFast() throws {
        var items: [JSONValue] = [
            .object([
                (
                    "chain",
                    .object([
                        ("family", .string("ip")), ("table", .string("t")), ("name", .string("input")), ("handle", .int(1)),
                        ("type", .string("filter")), ("hook", .string("input")), ("prio", .int(0)), ("policy", .string("accept")),
                    ])
                )
            ])
        ]
        for k in 0..<20_000 {
            let address = "10.\(k / 65536 % 256).\(k / 256 % 256).\(k % 256)"
            let match: JSONValue = .object([
                (
                    "match",
                    .object([
                        ("op", .string("==")),
                        ("left", .object([("payload", .object([("protocol", .string("ip")), ("field", .string("saddr"))]))])),
                        ("right", .string(address)),
                    ])
                )
            ])
            items.append(
                .object([
                    (
                        "rule",
                        .object([
                            ("family", .string("ip")), ("table", .string("t")), ("chain", .string("input")), ("handle", .int(Int64(k + 2))),
                            ("expr", .array([match, .object([("drop", .null)])])),
                        ])
                    )
                ]))
        }
        let bytes = Array(JSONValue.object([("nftables", .array(items))]).serialized().utf8)
        let clock = ContinuousClock()
        let started = clock.now
        let model = try FirewallModel(nftJSON: bytes)
        let v = model.verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4)
        #expect(v.name == "reachable")
        #expect(v.reason.contains("for packets where not ip saddr 10.0.0.0"))
        #expect(v.reason.contains("more conditions"))
        #expect(!model.evaluate(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4).isRestricted)
        // A runaway evaluator takes minutes; instrumented code is slower (Sanitizer.timeScale).
        #expect(clock.now - started < .seconds(Sanitizer.scaled(20)))
    }

    /// Independent conditions on hidden state double the paths with every
    /// rule; the evaluator gives up with a reason instead of running away.
    @Test func pathExplosionEndsInUnknown() throws {
        let chain: JSONValue = .object([
            (
                "chain",
                .object([
                    ("family", .string("inet")), ("table", .string("t")), ("name", .string("input")), ("handle", .int(1)),
                    ("type", .string("filter")), ("hook", .string("input")), ("prio", .int(0)), ("policy", .string("drop")),
                ])
            )
        ])
        let sub: JSONValue = .object([
            (
                "chain",
                .object([
                    ("family", .string("inet")), ("table", .string("t")), ("name", .string("sub")), ("handle", .int(2)),
                ])
            )
        ])
        var items: [JSONValue] = [chain, sub]
        for k in 1...40 {
            let match: JSONValue = .object([
                (
                    "match",
                    .object([
                        ("op", .string("==")), ("left", .object([("meta", .object([("key", .string("mark"))]))])),
                        ("right", .int(Int64(k))),
                    ])
                )
            ])
            items.append(
                .object([
                    (
                        "rule",
                        .object([
                            ("family", .string("inet")), ("table", .string("t")), ("chain", .string("input")),
                            ("handle", .int(Int64(10 + k))),
                            ("expr", .array([match, .object([("jump", .object([("target", .string("sub"))]))])])),
                        ])
                    )
                ]))
        }
        let bytes = Array(JSONValue.object([("nftables", .array(items))]).serialized().utf8)
        let clock = ContinuousClock()
        let started = clock.now
        let v = try FirewallModel(nftJSON: bytes).verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4)
        #expect(v.name == "unknown")
        #expect(v.reason.contains("too complex"))
        #expect(clock.now - started < .seconds(Sanitizer.scaled(30)))
    }
}
