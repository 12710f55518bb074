/// What the host knows about the path of a published port's packets that
/// the ruleset does not say. Every field may be left unknown.
public struct PublishedPortContext: Sendable, Hashable {
    /// The interface the route to the target leaves by (`docker0`,
    /// `podman0`, `cni0`), from the routing table. Unknown, the interface a
    /// Docker-style DNAT rule excludes (`iifname != "docker0"`) is taken;
    /// failing that, forward-chain tests of `oifname` are judged unknown.
    public var outputInterface: String?
    /// `net.ipv4.ip_forward` (or `net.ipv6.conf.all.forwarding`): off, the
    /// kernel forwards nothing, and a DNAT to another address goes nowhere.
    public var forwarding: Bool?
    /// `net.ipv4.conf.<interface>.route_localnet`: on, packets from other
    /// hosts to 127.0.0.1 are routed, so a port published on loopback can
    /// be reached by a neighbour (Docker's "DROP REMOTE LOOPBACK" rule
    /// exists for this).
    public var routeLocalnet: Bool?

    /// A context; every fact unknown by default.
    public init(outputInterface: String? = nil, forwarding: Bool? = nil, routeLocalnet: Bool? = nil) {
        self.outputInterface = outputInterface
        self.forwarding = forwarding
        self.routeLocalnet = routeLocalnet
    }
}

/// How exposed a published port is, judged along the path a new
/// connection takes (prerouting, the DNAT, then the forward hook toward
/// the target, or the input hook for a REDIRECT), and what the input
/// chain alone would have done with it.
public struct PublishedPortJudgement: Sendable, Hashable {
    /// The verdict along the connection's real path, with the rule that
    /// decided and the conditions (who may connect) as for a listener.
    public var path: FirewallEvaluation
    /// What the input hook would do with a new connection to the host
    /// port, were it not published: what an administrator who reads the
    /// input chain (ufw, firewalld's zones, an `inet filter input` policy
    /// drop) believes happens.
    public var inputChain: FirewallEvaluation
    /// Other hosts can open connections to it (it is not loopback-only,
    /// not only published for this host's own connections, and the path
    /// does not provably drop them). `.unknown` counts as reachable.
    public var reachableFromOtherHosts: Bool

    /// Reachable although the input chain would drop it: the bypass
    /// (moby/moby#22054) an input-chain firewall does not see.
    public var bypassesInput: Bool {
        guard reachableFromOtherHosts, case .reachable = path.verdict else { return false }
        return inputChain.verdict.isFiltered
    }

    /// The path's verdict: reachable, filtered or unknown, with its reason.
    public var verdict: FirewallVerdict { path.verdict }

    /// A judgement from its parts (tests, stored reports).
    public init(path: FirewallEvaluation, inputChain: FirewallEvaluation, reachableFromOtherHosts: Bool) {
        self.path = path
        self.inputChain = inputChain
        self.reachableFromOtherHosts = reachableFromOtherHosts
    }
}

extension FirewallModel {
    /// Judges a published port along the path of a new connection from
    /// another host to `hostPort` (default: the first of its host ports).
    /// The DNAT found by `publishedPorts()` is taken as given: the packet
    /// meets the non-NAT prerouting chains with its original address and
    /// port (nat prerouting's priority splits before from after), then the
    /// forward hook's chains (every table's: Docker's DOCKER-USER and
    /// DOCKER chains, ufw's forward chains, netavark's FORWARD) with the
    /// target's address and port, the marks its DNAT path set, and
    /// `ct status dnat`. A REDIRECT goes to the input hook instead.
    public func judge(_ port: PortPublication, hostPort: UInt16? = nil, context: PublishedPortContext = PublishedPortContext())
        -> PublishedPortJudgement
    {
        let hostPort = hostPort.flatMap { port.hostPorts.contains($0) ? $0 : nil } ?? port.hostPorts.lowerBound
        let input = inputEvaluation(port, hostPort: hostPort, routeLocalnet: context.routeLocalnet == true)
        func result(_ evaluation: FirewallEvaluation, reachable: Bool? = nil) -> PublishedPortJudgement {
            PublishedPortJudgement(
                path: evaluation, inputChain: input, reachableFromOtherHosts: reachable ?? !evaluation.verdict.isFiltered)
        }
        guard port.fromOtherHosts else {
            return result(
                FirewallEvaluation(
                    .reachable(
                        "published only for connections this host opens (the nat output hook); other hosts' connections are not translated")
                ),
                reachable: false)
        }
        if let address = port.hostAddress, address.normalized.isLoopback, context.routeLocalnet != true {
            return result(
                FirewallEvaluation(
                    .reachable(
                        "published on loopback only: the kernel drops other hosts' packets to a loopback address "
                            + "(unless route_localnet is on)")),
                reachable: false)
        }
        guard let target = port.target else {
            return result(
                FirewallEvaluation(.unknown("where it sends connections could not be read: \(port.targetUnreadable ?? "unknown target")")))
        }
        if !target.isThisHost && target.address == nil {
            return result(FirewallEvaluation(.unknown("the publisher does not name the address it forwards to")))
        }
        if let address = target.address, context.forwarding == false {
            return result(
                FirewallEvaluation(
                    .filtered(
                        "\(port.family == .ipv4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding") is off: "
                            + "the kernel does not forward connections to \(address)")))
        }
        let targetPort = port.targetPort(forHostPort: hostPort) ?? target.ports.lowerBound
        let l4: UInt64 = port.proto == .tcp ? 6 : 17
        var packet = destinationPacket(port, l4: l4, hostPort: hostPort)
        packet.forward = ForwardPath(
            targetAddress: target.address, targetPort: targetPort,
            outputInterface: context.outputInterface ?? port.inferredOutputInterface,
            metaMarkBits: port.metaMarkBits, ctMarkBits: port.ctMarkBits)
        var evaluator = NftEvaluator(ruleset: ruleset, reader: ValueReader(ruleset: ruleset, cache: cache), packet: packet)
        evaluator.seeds = port.preconditions.map { ($0, Self.seedChain(port)) }
        let evaluation = evaluator.evaluate()
        if evaluation.chainsConsulted == 0 {
            let hook = target.isThisHost ? "input" : "forward"
            return result(
                FirewallEvaluation(.reachable("no nftables \(hook) chain: the kernel \(target.isThisHost ? "delivers" : "forwards") it")))
        }
        if evaluation.accepted.isEmpty && evaluation.dropped.isEmpty && evaluation.undecided.isEmpty {
            // The publication's own conditions exclude every packet the model has.
            return result(
                FirewallEvaluation(
                    .filtered("no connection from another host meets the conditions of \(port.rule?.description ?? "the rule")")))
        }
        return result(Self.withRestrictions(Self.classify(evaluation), evaluation))
    }

    /// A reachable verdict on every path still says who may connect: the
    /// publication's own conditions (a source range on the DNAT path)
    /// narrow every path alike, so no fork shows them.
    static func withRestrictions(_ judged: FirewallEvaluation, _ e: NftEvaluator.Evaluation) -> FirewallEvaluation {
        guard case .reachable(let reason) = judged.verdict, judged.restrictions.isEmpty,
            e.dropped.isEmpty && e.undecided.isEmpty,
            let typical = e.accepted.min(by: { acceptedRank($0) < acceptedRank($1) })
        else { return judged }
        let restrictions = typical.restrictions
        guard !restrictions.isEmpty else { return judged }
        var out = judged
        out.verdict = .reachable("reachable only when \(summary(restrictions, total: restrictions.count)): \(reason)")
        out.restrictions = restrictions
        out.conditions = typical.conditions.filter(\.holds).map(\.rendered)
        return out
    }

    /// The packet sent to the host side of a published port.
    func destinationPacket(_ port: PortPublication, l4: UInt64, hostPort: UInt16) -> ListenerPacket {
        let address = port.hostAddress?.normalized ?? (port.family == .ipv4 ? .anyV4 : .anyV6)
        var packet = self.packet(l4: l4, family: port.family, port: hostPort, address: address)
        if address.isLoopback {
            // Only reached here with route_localnet on.
            packet.destinations = .single(U128(address))
        }
        packet.dnatPossible = true
        return packet
    }

    /// What the input hook alone does with a new connection to the host port.
    func inputEvaluation(_ port: PortPublication, hostPort: UInt16, routeLocalnet: Bool) -> FirewallEvaluation {
        if let address = port.hostAddress, address.normalized.isLoopback, !routeLocalnet {
            return FirewallEvaluation(.reachable("loopback only; firewall not consulted"))
        }
        var packet = destinationPacket(port, l4: port.proto == .tcp ? 6 : 17, hostPort: hostPort)
        packet.ignoresNAT = true
        packet.dnatPossible = false
        var evaluator = NftEvaluator(ruleset: ruleset, reader: ValueReader(ruleset: ruleset, cache: cache), packet: packet)
        return Self.classify(evaluator.evaluate())
    }

    /// The chain a published port's preconditions are named after in reasons.
    static func seedChain(_ port: PortPublication) -> NftChainID {
        guard let rule = port.rule else { return NftChainID(family: .other("?"), table: "?", name: "?") }
        return NftChainID(family: NftFamily(json: rule.family), table: rule.table, name: rule.chain)
    }
}

extension FirewallSnapshot {
    /// `FirewallModel.judge(_:hostPort:context:)` on the snapshot's model:
    /// unknown when there is none, and an accept weakened to unknown when
    /// legacy iptables tables are loaded (a legacy FORWARD rule may still drop).
    public func judge(_ port: PortPublication, hostPort: UInt16? = nil, context: PublishedPortContext = PublishedPortContext())
        -> PublishedPortJudgement
    {
        guard let model else {
            let unknown = FirewallEvaluation(.unknown(unavailableReason ?? "no firewall model"))
            let loopbackOnly = port.hostAddress?.normalized.isLoopback == true && context.routeLocalnet != true
            return PublishedPortJudgement(path: unknown, inputChain: unknown, reachableFromOtherHosts: port.fromOtherHosts && !loopbackOnly)
        }
        var judgement = model.judge(port, hostPort: hostPort, context: context)
        let legacy = port.family == .ipv4 ? legacyIPv4Tables : legacyIPv6Tables
        if !legacy.isEmpty, case .reachable(let why) = judgement.path.verdict, judgement.reachableFromOtherHosts {
            judgement.path.verdict = .unknown(
                "nftables forwards it (\(why)), but iptables (legacy) tables are loaded "
                    + "(\(legacy.map { NftText.clean($0) }.joined(separator: ", "))); portcullis reads nftables only")
        }
        return judgement
    }
}
