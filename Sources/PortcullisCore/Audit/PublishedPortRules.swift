/// The sockets of one network namespace a published port may lead into:
/// a container's, a pod's, a VM's (or the host's own, for a REDIRECT).
public struct TargetNamespace: Sendable, Hashable {
    /// For evidence: `container web (172.17.0.2)`, `netns 4026532301`, `host`.
    public var name: String
    /// The namespace's addresses: a published port whose target is one of them leads here.
    public var addresses: [IPAddress]
    /// The host's own namespace, where a REDIRECT leads.
    public var isHost: Bool
    /// Its listening sockets (TCP LISTEN, unconnected UDP).
    public var listeners: [ListeningEndpoint]

    /// A namespace whose sockets were read.
    public init(name: String, addresses: [IPAddress], isHost: Bool = false, listeners: [ListeningEndpoint]) {
        self.name = name
        self.addresses = addresses.map(\.normalized)
        self.isHost = isHost
        self.listeners = listeners
    }
}

/// The audit rules about published ports (see `RuleID`): the input-chain
/// bypass, a publication with nothing behind it, and a datastore or admin
/// service published on every address. Pure: the caller extracts and
/// judges the ports and reads the namespaces' sockets.
public enum PublishedPortRules {
    /// The findings about one published port.
    /// - Parameters:
    ///   - judgement: its exposure (`FirewallModel.judge`); nil when the
    ///     firewall was not read, which counts as reachable from other hosts
    ///     (as an unjudged listener does), but never as a bypass.
    ///   - namespaces: the namespaces whose sockets were read. A target in
    ///     none of them (a pod on another node, a namespace that could not
    ///     be entered) is never called empty.
    public static func findings(for port: PortPublication, judgement: PublishedPortJudgement?, namespaces: [TargetNamespace]) -> [Finding] {
        var out: [Finding] = []
        let reachable = judgement?.reachableFromOtherHosts ?? (port.fromOtherHosts && port.exposure != .loopback)
        let subject = FindingSubject(
            proto: .transport(port.proto), family: port.family,
            localAddress: (port.hostAddress ?? (port.family == .ipv4 ? .anyV4 : .anyV6)).description, port: port.hostPorts.lowerBound,
            inode: 0, exposure: port.exposure)
        let published = "\(port.hostEndpoint) is published to \(port.target?.description ?? "an unreadable target") by \(port.tool)"
        var base = [published + (port.rule.map { ": \($0)" } ?? port.pid.map { ": process \($0)" } ?? "")]
        if port.inputInterfaces.isLimited { base.append("input interfaces: \(port.inputInterfaces)") }
        if !port.conditions.isEmpty { base.append("on the way to the DNAT: " + port.conditions.prefix(4).joined(separator: "; ")) }
        if let judgement {
            base.append(
                "path of a new connection (prerouting, DNAT, \(port.target?.isThisHost == true ? "input" : "forward")): \(judgement.verdict.name) — \(judgement.verdict.reason)"
            )
        }
        func add(_ rule: RuleID, _ severity: Severity, _ title: String, _ evidence: [String], _ fix: String) {
            var finding = Finding(
                rule: rule, severity: severity, title: title, subject: subject, owners: [], evidence: base + evidence, remediation: fix)
            finding.location = port.hostEndpoint
            out.append(finding)
        }

        if let judgement, judgement.bypassesInput {
            let restricted = judgement.path.isRestricted
            add(
                .publishedPortBypassesInput, restricted ? .medium : .high,
                "\(port.hostEndpoint) is reachable from other hosts through \(port.tool)'s DNAT although the input chain drops it",
                [
                    "input chain, for the same port: \(judgement.inputChain.verdict.name) — \(judgement.inputChain.verdict.reason)",
                    "published ports are forwarded (prerouting, then the forward hook): the input chain never sees them",
                ] + (restricted ? ["reachable only when " + judgement.path.restrictions.joined(separator: " and ")] : []),
                bypassFix(port))
        }

        if let target = port.target, let namespace = namespace(of: target, in: namespaces) {
            let address = target.address ?? port.hostAddress ?? (port.family == .ipv4 ? .anyV4 : .anyV6)
            let listening = namespace.listeners.contains { endpoint in
                target.ports.contains(endpoint.port) && endpoint.accepts(proto: port.proto, address: address, port: endpoint.port)
            }
            if !listening {
                let heard = namespace.listeners.filter { $0.proto == port.proto }.prefix(6).map {
                    "\($0.address.kind == .v6 ? "[\($0.address)]" : "\($0.address)"):\($0.port)"
                }
                add(
                    .publishedPortWithoutListener, reachable ? .medium : .low,
                    "\(port.hostEndpoint) is published to \(target), where nothing listens",
                    [
                        "\(namespace.name) has no \(port.proto.rawValue) listener on \(target)"
                            + (heard.isEmpty ? "" : " (it listens on \(heard.joined(separator: ", ")))"),
                        "a publication with nothing behind it reaches whatever next listens there, or whatever container next takes the address",
                    ],
                    "Remove the publication if the service is gone (\(removalHint(port))); otherwise start the service, or fix the port it is published to"
                )
            }
        }

        if reachable, port.isOnEveryAddress, judgement?.verdict.isFiltered != true {
            let targetPort = port.target.flatMap { port.targetPort(forHostPort: port.hostPorts.lowerBound) ?? $0.ports.lowerBound }
            let facts =
                (targetPort.map { PortKnowledge.facts(port: $0, proto: port.proto) } ?? [])
                + PortKnowledge.facts(port: port.hostPorts.lowerBound, proto: port.proto)
            if let fact = facts.first(where: { $0.confidence == .high && ($0.isIn(.datastore) || $0.isIn(.adminAPI)) }) {
                let admin = fact.category == .adminAPI || (!fact.isIn(.datastore) && fact.isIn(.adminAPI))
                let byTarget = targetPort.map { fact.covers(port: $0, proto: port.proto) } ?? false
                add(
                    admin ? .publishedAdminAPI : .publishedDatastore, fact.severityHint,
                    "\(fact.title) published on every address: \(port.summary)",
                    [
                        byTarget
                            ? "port \(targetPort ?? 0)/\(port.proto.rawValue) behind it is \(fact.title)'s"
                            : "port \(port.hostPorts.lowerBound)/\(port.proto.rawValue) is \(fact.title)'s"
                    ] + fact.securityNotes.prefix(1),
                    "Publish it on loopback only (\(loopbackHint(port))) or on a private address"
                        + (fact.remediation.map { "; \($0.prefix(1).lowercased() + $0.dropFirst())" } ?? ", and require authentication"))
            }
        }
        return out
    }

    /// The namespace a target leads into, among those read.
    static func namespace(of target: PublishedTarget, in namespaces: [TargetNamespace]) -> TargetNamespace? {
        if target.isThisHost { return namespaces.first(where: \.isHost) }
        guard let address = target.address?.normalized else { return nil }
        return namespaces.first { $0.addresses.contains(address) }
    }

    static func ports(_ range: ClosedRange<UInt16>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    }

    /// `-p 127.0.0.1:8080:80` in the tool's own words.
    static func loopbackHint(_ port: PortPublication) -> String {
        let host = ports(port.hostPorts)
        let container = port.target.map { ports($0.ports) } ?? host
        let suffix = port.proto == .udp ? "/udp" : ""
        switch port.tool {
        case .docker, .dockerProxy:
            return
                "docker run -p 127.0.0.1:\(host):\(container)\(suffix), or \"127.0.0.1:\(host):\(container)\(suffix)\" under ports: in compose"
        case .netavark, .rootlessport, .pasta: return "podman run -p 127.0.0.1:\(host):\(container)\(suffix)"
        case .cni: return "\"hostIP\": \"127.0.0.1\" in the portMappings entry"
        case .kubeProxy: return "a ClusterIP service instead of NodePort, ExternalIP or LoadBalancer, or loadBalancerSourceRanges"
        case .firewalld, .nft: return "add `ip daddr 127.0.0.1` (or `iifname lo`) to the DNAT rule"
        }
    }

    /// How to take a publication away, in the tool's own words.
    static func removalHint(_ port: PortPublication) -> String {
        switch port.tool {
        case .docker, .dockerProxy: return "recreate the container without -p \(ports(port.hostPorts)), or stop it"
        case .netavark, .rootlessport, .pasta: return "recreate the container without -p \(ports(port.hostPorts)), or stop it"
        case .cni: return "remove the portMappings entry"
        case .kubeProxy: return "delete the service, or the endpoint that no longer serves"
        case .firewalld, .nft:
            guard let rule = port.rule else { return "delete the DNAT rule" }
            return "nft delete rule \(rule.family) \(rule.table) \(rule.chain)" + (rule.handle.map { " handle \($0)" } ?? "")
        }
    }

    /// The bypass's three ways out, in the tool's own words.
    static func bypassFix(_ port: PortPublication) -> String {
        let proto = port.proto.rawValue
        let host = ports(port.hostPorts)
        let forwardDrop =
            "drop it in the forward hook, which published ports do pass: `nft add rule inet filter forward meta l4proto \(proto) ct original proto-dst \(host) drop` "
            + "(in a chain `type filter hook forward priority filter`; `ct original proto-dst` is the published port, before the DNAT)"
        switch port.tool {
        case .docker, .dockerProxy:
            return "Publish it on loopback only (\(loopbackHint(port))); or restrict it in DOCKER-USER, which Docker never rewrites: "
                + "`iptables -I DOCKER-USER -p \(proto) -m conntrack --ctorigdstport \(host.replacingColonRange) --ctdir ORIGINAL -j DROP` "
                + "(DOCKER-USER sees the container's port, so match the published one with --ctorigdstport; add `! -s TRUSTED` to let some in); or \(forwardDrop)"
        case .netavark, .rootlessport, .pasta:
            return "Publish it on loopback only (\(loopbackHint(port))); or \(forwardDrop)"
        case .cni:
            return "Publish it on loopback only (\(loopbackHint(port))); or \(forwardDrop)"
        case .kubeProxy:
            return
                "A NodePort, ExternalIP or LoadBalancer service is published on purpose: limit it with loadBalancerSourceRanges or a NetworkPolicy, "
                + "make it a ClusterIP service if only the cluster needs it, or \(forwardDrop)"
        case .firewalld, .nft:
            return
                "Narrow the DNAT rule itself (ip saddr, iifname, ip daddr 127.0.0.1), or \(forwardDrop); the input chain never sees forwarded connections"
        }
    }
}

extension String {
    /// `9000-9002` as iptables spells a range (`9000:9002`).
    fileprivate var replacingColonRange: String { String(map { $0 == "-" ? ":" : $0 }) }
}
