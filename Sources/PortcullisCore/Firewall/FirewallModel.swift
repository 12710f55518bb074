/// The host's nftables ruleset, read from `nft -j list ruleset`, as a model
/// that answers per listener: does a NEW connection (TCP SYN) or datagram
/// (UDP) from another host reach it?
///
/// The packet modelled arrives on a non-loopback interface, from an
/// unknown source address and port, to the listener's port, and to the
/// listener's address (for a wildcard listener: any address of this host).
/// It passes, in hook and priority order, every base chain it meets:
/// ingress (netdev/inet, per device), bridge prerouting/input (through a
/// bridge port), prerouting and input (ip, ip6, inet). Each chain must
/// accept it; a drop or reject anywhere is final. jump, goto and return are
/// followed.
///
/// Wherever a rule matches some such packets and not others the evaluation
/// forks, and the verdict looks at every path:
/// - `.filtered` only when every path ends in drop or reject: the ruleset
///   provably stops every NEW packet to the port from other hosts;
/// - `.reachable` when some path is accepted everywhere and depends only on
///   what the sender controls (its address, port, interface, packet shape).
///   The reason then says "reachable when ..." with the conditions, e.g.
///   `ip saddr 10.0.0.0/8`: the port is open to those sources, which an
///   auditor must hear about, and it is never called filtered;
/// - `.unknown` otherwise: a path through something this model cannot see
///   (marks, rate limits, quotas, dynamic sets keyed by our own port, NAT,
///   queue, iptables-nft xt extensions, unknown expressions), with the
///   construct and the rule named.
public struct FirewallModel: Sendable {
    let ruleset: NftRuleset
    let cache: [NftChainID: [ValueKind: IntervalSet]]
    /// Ports a `dnat` or `redirect` anywhere in the ruleset can send a
    /// packet to; `ct status dnat` can only hold for a listener on one.
    let dnatTargets: IntervalSet
    let snatPossible: Bool
    /// What joining iptables-save text to the ruleset could not do.
    let joinNotes: [String]

    /// - Parameters:
    ///   - nftJSON: the output of `nft -j list ruleset`.
    ///   - iptablesSave: the output of `iptables-nft-save` (`.ipv4`) and
    ///     `ip6tables-nft-save` (`.ipv6`), when they could be read: they
    ///     supply the options of iptables-nft's xtables extensions, which
    ///     nft's JSON names without (Docker's, kube-proxy's, CNI's and
    ///     netavark's DNAT targets, `-m conntrack`, `-m addrtype`,
    ///     `-m multiport`, `-j MARK`). Without them those rules stay
    ///     conditions and targets portcullis cannot read.
    public init(nftJSON: [UInt8], iptablesSave: [AddressFamily: String] = [:]) throws(FirewallError) {
        let document: JSONValue
        do {
            // nft writes integers only; a number with a fraction in a field
            // this model never reads must not make the whole ruleset unreadable.
            document = try JSONValue.parse(nftJSON, nonIntegers: .keepAsString)
        } catch {
            throw .malformedJSON(error)
        }
        var ruleset = try NftRuleset(json: document)
        var notes: [String] = []
        for family in AddressFamily.allCases {
            guard let text = iptablesSave[family] else { continue }
            let (joined, diagnostics) = ruleset.applying(IptablesSave(text: text), family: family == .ipv4 ? .ip : .ip6)
            ruleset = joined
            notes += diagnostics.map(\.message)
        }
        self.init(ruleset: ruleset, joinNotes: notes)
    }

    init(ruleset: NftRuleset, joinNotes: [String] = []) {
        self.ruleset = ruleset
        self.joinNotes = joinNotes
        cache = ValueReader.buildCache(ruleset)
        var targets = IntervalSet.empty
        var snat = false
        for chain in ruleset.chains.values {
            if let base = chain.base, base.type == .nat, base.hook == .input { snat = true }
            for rule in chain.rules {
                for case .nat(let nat) in rule.statements where nat.kind.changesDestination {
                    // Without a port (or with a map) the new port may be any.
                    targets = targets.union(nat.port.flatMap(Self.ports) ?? .all(bits: 16))
                }
            }
        }
        dnatTargets = targets
        snatPossible = snat
    }

    static func ports(_ v: NftValue) -> IntervalSet? {
        switch v {
        case .int(let p) where (0...65535).contains(p): return .single(UInt64(p))
        case .range(.int(let a), .int(let b)) where 0 <= a && a <= b && b <= 65535: return IntervalSet([U128(UInt64(a))...U128(UInt64(b))])
        default: return nil
        }
    }

    /// The nft version that wrote the JSON.
    public var nftVersion: String? { ruleset.nftVersion }

    /// Base chains by hook, e.g. `[.input: 2, .prerouting: 1]`.
    public var baseChainCounts: [NftHook: Int] {
        var counts: [NftHook: Int] = [:]
        for chain in ruleset.chains.values { if let hook = chain.base?.hook { counts[hook, default: 0] += 1 } }
        return counts
    }

    /// Things about the ruleset as a whole worth telling a user.
    public var notes: [String] {
        var tables: Set<String> = []
        for chain in ruleset.chains.values {
            for rule in chain.rules {
                let usesXT = rule.statements.contains {
                    switch $0 {
                    case .opaqueCondition(let t), .undecidable(let t): return t.hasPrefix("xt ")
                    default: return false
                    }
                }
                if usesXT { tables.insert("\(chain.id.family.jsonName) \(chain.id.table)") }
            }
        }
        guard !tables.isEmpty else { return joinNotes }
        return joinNotes + [
            "iptables-nft rules with xtables extensions in table \(tables.sorted().map { NftText.clean($0) }.joined(separator: ", ")): "
                + "portcullis cannot read them, and listeners whose packets meet them are judged unknown"
        ]
    }

    /// Whether NEW inbound traffic from another host reaches a listener.
    /// - Parameters:
    ///   - localAddress: the address the socket is bound to; unspecified
    ///     (`0.0.0.0`, `::`) means every address of this host. IPv4-mapped
    ///     IPv6 addresses are judged as IPv4.
    public func verdict(proto: TransportProtocol, family: AddressFamily, port: UInt16, localAddress: IPAddress) -> FirewallVerdict {
        evaluate(proto: proto, family: family, port: port, localAddress: localAddress).verdict
    }

    /// The same verdict, through `memo` (see `Memo`).
    public func verdict(
        proto: TransportProtocol, family: AddressFamily, port: UInt16, localAddress: IPAddress,
        memo: inout Memo
    ) -> FirewallVerdict {
        evaluate(proto: proto, family: family, port: port, localAddress: localAddress, memo: &memo).verdict
    }

    /// The verdict with the packet conditions it holds under.
    public func evaluate(
        proto: TransportProtocol, family: AddressFamily, port: UInt16,
        localAddress: IPAddress
    ) -> FirewallEvaluation {
        switch prepare(proto: proto, localAddress: localAddress) {
        case .decided(let evaluation): return evaluation
        case .walk(let l4, let address): return walk(packet(l4: l4, family: family, port: port, address: address))
        }
    }

    /// Evaluations made for earlier listeners of one batch, each with the
    /// tests of the port it depended on (`PortTestLog`): a listener whose
    /// port answers them all the same way gets that evaluation without
    /// walking the ruleset again. On a host with 10,000 listeners on
    /// different ports, a walk per listener was most of the audit's time,
    /// while a ruleset tells only a handful of port classes apart.
    /// Only valid with the model that filled it.
    public struct Memo: Sendable {
        /// Everything but the port that the modelled packet is made of.
        struct Key: Hashable {
            var l4: UInt64
            var family: AddressFamily
            var address: IPAddress
            var dnatPossible: Bool
        }

        struct Entry: Sendable {
            var portTests: [PortTestLog.Test]
            var evaluation: FirewallEvaluation

            func applies(to port: U128) -> Bool {
                portTests.allSatisfy { $0.set.contains(port) == $0.contains }
            }
        }

        var entries: [Key: [Entry]] = [:]
        /// The key last looked up, with its entries: listeners come in runs
        /// on one address, and comparing a key is cheaper than hashing it.
        var recent: (key: Key, entries: [Entry])?

        struct VerdictPair: Hashable {
            var v4: FirewallVerdict
            var v6: FirewallVerdict
        }

        /// Dual-stack verdicts already combined (`FirewallVerdict.combine`):
        /// the listeners of a batch share a few pairs, and the combined
        /// reason is a string built anew each time.
        var combined: [VerdictPair: FirewallVerdict] = [:]

        mutating func combine(v4: FirewallVerdict, v6: FirewallVerdict) -> FirewallVerdict {
            let pair = VerdictPair(v4: v4, v6: v6)
            if let known = combined[pair] { return known }
            let verdict = FirewallVerdict.combine(v4: v4, v6: v6)
            combined[pair] = verdict
            return verdict
        }

        /// An empty memo; use one per model, for one batch of listeners.
        public init() {}
    }

    /// `evaluate(proto:family:port:localAddress:)`, reusing and adding to
    /// `memo`: the same evaluation, without a walk of the ruleset per port.
    public func evaluate(
        proto: TransportProtocol, family: AddressFamily, port: UInt16,
        localAddress: IPAddress, memo: inout Memo
    ) -> FirewallEvaluation {
        switch prepare(proto: proto, localAddress: localAddress) {
        case .decided(let evaluation):
            return evaluation
        case .walk(let l4, let address):
            let value = U128(UInt64(port))
            let key = Memo.Key(l4: l4, family: family, address: address, dnatPossible: dnatTargets.contains(value))
            let known: [Memo.Entry]
            if let recent = memo.recent, recent.key == key { known = recent.entries } else { known = memo.entries[key] ?? [] }
            if let entry = known.first(where: { $0.applies(to: value) }) {
                memo.recent = (key, known)
                return entry.evaluation
            }
            let tests = PortTestLog(port: value)
            let evaluation = walk(packet(l4: l4, family: family, port: port, address: address), portTests: tests)
            if tests.reusable {
                memo.entries[key, default: []].append(Memo.Entry(portTests: tests.tests, evaluation: evaluation))
            }
            memo.recent = (key, memo.entries[key] ?? [])
            return evaluation
        }
    }

    enum Prepared {
        /// Answered without the ruleset.
        case decided(FirewallEvaluation)
        /// To walk the ruleset with a packet of this transport protocol to
        /// this (normalized) address.
        case walk(l4: UInt64, address: IPAddress)
    }

    func prepare(proto: TransportProtocol, localAddress: IPAddress) -> Prepared {
        let l4: UInt64
        switch proto {
        case .tcp: l4 = 6
        case .udp: l4 = 17
        case .raw: return .decided(FirewallEvaluation(.unknown("raw socket: it has no port for a firewall rule to match")))
        }
        let address = localAddress.normalized
        if address.isLoopback {
            return .decided(FirewallEvaluation(.reachable("listener is loopback only; firewall not consulted")))
        }
        return .walk(l4: l4, address: address)
    }

    func packet(l4: UInt64, family: AddressFamily, port: UInt16, address: IPAddress) -> ListenerPacket {
        let bits = family == .ipv4 ? 32 : 128
        let destinations: IntervalSet
        if !address.isUnspecified && (address.kind == .v4) == (family == .ipv4) {
            destinations = .single(U128(address))
        } else {
            // Some address of this host: anything but loopback, which the
            // kernel does not accept from another interface.
            let loopback: IntervalSet =
                family == .ipv4
                ? IntervalSet([U128(0x7f00_0000)...U128(0x7fff_ffff)])
                : .single(1)
            destinations = IntervalSet.all(bits: bits).subtracting(loopback)
        }
        return ListenerPacket(
            family: family, l4proto: l4, port: port, destinations: destinations,
            dnatPossible: dnatTargets.contains(U128(UInt64(port))), snatPossible: snatPossible)
    }

    func walk(_ packet: ListenerPacket, portTests: PortTestLog? = nil) -> FirewallEvaluation {
        var evaluator = NftEvaluator(
            ruleset: ruleset, reader: ValueReader(ruleset: ruleset, cache: cache), packet: packet,
            portTests: portTests)
        return Self.classify(evaluator.evaluate())
    }

    // MARK: verdicts from paths

    static func classify(_ e: NftEvaluator.Evaluation) -> FirewallEvaluation {
        if e.chainsConsulted == 0 {
            return FirewallEvaluation(.reachable("no nftables input chain"))
        }
        if e.dropped.isEmpty && e.undecided.isEmpty,
            let typical = e.accepted.min(by: { acceptedRank($0) < acceptedRank($1) })
        {
            // Every path is accepted: the forks did not matter.
            return FirewallEvaluation(.reachable(decisions(typical)), decidingRule: typical.lastRule.map(FirewallRuleReference.init))
        }
        let clean = e.accepted.filter { !$0.dependsOnHostState }
        if let best = clean.min(by: { score($0) < score($1) }) {
            // Positive conditions first: they say who gets in.
            let ordered = best.conditions.filter(\.holds) + best.conditions.filter { !$0.holds }
            let conditions = ordered.map(\.rendered)
            let restrictions = best.restrictions
            let reason =
                restrictions.isEmpty
                ? "\(decisions(best)), for packets where \(summary(conditions, total: best.forkCount))"
                : "reachable only when \(summary(restrictions, total: restrictions.count)): \(decisions(best))"
            var evaluation = FirewallEvaluation(.reachable(reason), conditions: conditions, restrictions: restrictions)
            evaluation.decidingRule = best.lastRule.map(FirewallRuleReference.init)
            return evaluation
        }
        if e.accepted.isEmpty && e.undecided.isEmpty, !e.dropped.isEmpty {
            // The drop most packets meet first: the path with fewest forks.
            var reasons: [String] = []
            let typicalFirst = e.dropped.sorted { typicality($0.0) < typicality($1.0) }
            for (_, why) in typicalFirst where !reasons.contains(why) {
                reasons.append(why)
            }
            let deciding = typicalFirst.first?.0.lastRule.map(FirewallRuleReference.init)
            guard reasons.count > 1 else { return FirewallEvaluation(.filtered(reasons[0]), decidingRule: deciding) }
            let others =
                reasons.dropFirst().prefix(3).joined(separator: "; ") + (reasons.count > 4 ? "; and \(reasons.count - 4) more" : "")
            return FirewallEvaluation(.filtered("\(reasons[0]) (other packets: \(others))"), decidingRule: deciding)
        }
        if let (_, why) = e.undecided.first {
            return FirewallEvaluation(.unknown(why))
        }
        // Accepted only on paths that depend on host state.
        for state in e.accepted {
            if let condition = state.firstOpaque {
                return FirewallEvaluation(
                    .unknown(
                        "cannot judge \(condition.text)\(NftText.explanation(condition.text)): \(condition.location); "
                            + "the port is accepted only on paths that depend on it"))
            }
        }
        return FirewallEvaluation(.unknown("cannot judge the ruleset for this listener"))
    }

    /// The packet nothing special happened to: fewest conditions that had
    /// to hold, then fewest forks.
    static func typicality(_ s: PacketState) -> (Int, Int) {
        (s.heldCount, s.forkCount)
    }

    /// For a port every path accepts: the path that needs no hidden state,
    /// then the most typical one, names the rule to show.
    static func acceptedRank(_ s: PacketState) -> (Int, Int, Int) {
        let (held, forks) = typicality(s)
        return (s.dependsOnHostState ? 1 : 0, held, forks)
    }

    /// Fewest restrictions on who may send first, then fewest conditions.
    static func score(_ s: PacketState) -> (Int, Int) {
        (s.restrictions.count, s.forkCount)
    }

    static func summary(_ conditions: [String], total: Int) -> String {
        let shown = conditions.prefix(3).joined(separator: " and ")
        let more = max(total, conditions.count) - min(3, conditions.count)
        return more > 0 ? "\(shown) (and \(more) more conditions)" : shown
    }

    /// The rules that accepted, leaving out chains that merely let
    /// everything through by policy when a rule decided elsewhere.
    static func decisions(_ s: PacketState) -> String {
        let ruled = s.decisions.filter { !$0.hasPrefix("accepted by the policy accept") }
        return (ruled.isEmpty ? s.decisions : ruled).joined(separator: "; ")
    }
}

/// A rule of the ruleset, as a verdict's reason names it.
public struct FirewallRuleReference: Sendable, Hashable, CustomStringConvertible {
    /// The table's family: `ip`, `ip6`, `inet`, `netdev`, `bridge`.
    public var family: String
    /// The table's name.
    public var table: String
    /// The chain's name.
    public var chain: String
    /// The rule's handle (nft lists it with `-a`).
    public var handle: Int64?
    /// The rule as short nft-like text, escaped.
    public var text: String

    init(_ location: RuleLocation) {
        family = location.chain.family.jsonName
        table = location.chain.table
        chain = location.chain.name
        handle = location.handle
        text = location.text
    }

    /// `rule "TEXT" (ip filter DOCKER, handle 17)`.
    public var description: String {
        "rule \"\(text)\" (\(NftText.clean("\(family) \(table) \(chain)"))\(handle.map { ", handle \($0)" } ?? ""))"
    }
}

/// A verdict and, for `.reachable`, the conditions a packet must meet.
public struct FirewallEvaluation: Sendable, Hashable {
    /// Reachable, filtered or unknown, with its reason.
    public var verdict: FirewallVerdict
    /// Empty when every NEW packet to the port is accepted; otherwise the
    /// forks on the accepted path shown in the reason, e.g.
    /// `["ip saddr 10.0.0.0/8"]` or `["not ip saddr @blocklist"]`.
    public var conditions: [String]
    /// The conditions that limit who can connect: the source address,
    /// port or interface, or the local address, must be one the rule names.
    /// Empty when the port is open to any sender (perhaps minus a blocklist).
    public var restrictions: [String]

    /// The rule that accepted (the last one, on the path the reason
    /// describes) or dropped the packet; nil when a chain's policy decided,
    /// when the firewall was not consulted, or for `.unknown`.
    public var decidingRule: FirewallRuleReference?

    /// An evaluation; `conditions` and `restrictions` default to none (open to every sender).
    public init(
        _ verdict: FirewallVerdict, conditions: [String] = [], restrictions: [String] = [], decidingRule: FirewallRuleReference? = nil
    ) {
        self.verdict = verdict
        self.conditions = conditions
        self.restrictions = restrictions
        self.decidingRule = decidingRule
    }

    /// Reachable, but only from some sources or on some local addresses.
    public var isRestricted: Bool { !restrictions.isEmpty }
}

extension FirewallVerdict {
    /// The verdict for a socket, from per-family verdicts: a dual-stack
    /// wildcard socket (`::` without IPV6_V6ONLY) takes IPv4 and IPv6
    /// traffic and is judged for both. Loopback-only sockets are not exposed
    /// at all; callers should not need to ask, but get a safe answer.
    public static func judging(
        _ entry: InventoryEntry, perFamily: (AddressFamily, IPAddress) -> FirewallVerdict,
        combining combine: (_ v4: FirewallVerdict, _ v6: FirewallVerdict) -> FirewallVerdict = { combine(v4: $0, v6: $1) }
    ) -> FirewallVerdict {
        let socket = entry.socket
        if socket.proto == .raw { return .unknown("raw socket: it has no port for a firewall rule to match") }
        if entry.exposure == .loopback {
            return .reachable("listener is loopback only; firewall not consulted")
        }
        if entry.exposure == .allInterfacesDualStack {
            return combine(perFamily(.ipv4, .anyV4), perFamily(.ipv6, .anyV6))
        }
        let address = socket.localAddress.normalized
        return perFamily(address.kind == .v4 ? .ipv4 : .ipv6, address)
    }

    /// A dual-stack socket is reachable if either family reaches it, and
    /// filtered only if both are.
    public static func combine(v4: FirewallVerdict, v6: FirewallVerdict) -> FirewallVerdict {
        let reason = "IPv4 \(v4.name): \(v4.reason); IPv6 \(v6.name): \(v6.reason)"
        switch (v4, v6) {
        case (.reachable, _), (_, .reachable): return .reachable(reason)
        case (.filtered, .filtered): return .filtered(reason)
        default: return .unknown(reason)
        }
    }
}

extension FirewallModel {
    /// The verdict for an inventory entry (both families for a dual-stack socket).
    public func verdict(for entry: InventoryEntry) -> FirewallVerdict {
        FirewallVerdict.judging(entry) { family, address in
            verdict(proto: entry.socket.proto, family: family, port: entry.socket.localPort, localAddress: address)
        }
    }
}
