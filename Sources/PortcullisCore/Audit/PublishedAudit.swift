/// A published port with its judgement along the path a new connection takes
/// (prerouting DNAT, then forward), as the audit is given it.
public struct JudgedPublication: Sendable, Hashable {
    /// The DNAT rule or userland proxy that publishes the port.
    public var publication: PortPublication
    /// Its exposure; nil when the firewall was not read.
    public var judgement: PublishedPortJudgement?

    /// A publication and its judgement.
    public init(publication: PortPublication, judgement: PublishedPortJudgement?) {
        self.publication = publication
        self.judgement = judgement
    }
}

/// A published port as the audit sees it: where it leads, who listens there, and what is wrong.
public struct AuditedPublication: Sendable {
    /// The publication and its judgement.
    public var judged: JudgedPublication
    /// The namespace its target is in (inode), when one read has the target's address.
    public var targetNamespace: UInt64?
    /// The name of that namespace, for people: `host`, the container, the `ip netns` name.
    public var targetName: String?
    /// The socket behind it: the target namespace's listener on the target port.
    public var listener: InventoryEntry?
    /// The published-port findings about it that survived the policy.
    public var findings: [Finding]

    /// Reachable from other hosts: by its judgement, or, unjudged, when it is published beyond loopback.
    public var reachable: Bool {
        judged.judgement?.reachableFromOtherHosts ?? (judged.publication.fromOtherHosts && judged.publication.exposure != .loopback)
    }

    /// One line: `0.0.0.0:8080/tcp -> 172.17.0.2:80 in web (docker): reachable — held by nginx[812]`.
    public var summary: String {
        let p = judged.publication
        var text = "\(p.hostEndpoint) -> \(p.target?.description ?? "?")" + (targetName.map { " in \($0)" } ?? "") + " (\(p.tool))"
        text += ": " + (judged.judgement.map { "\($0.verdict.name) — \($0.verdict.reason)" } ?? "firewall not read")
        if let listener {
            let owners = listener.owners.prefix(3).map { "\($0.name)[\($0.pid)]" }.joined(separator: ", ")
            text += owners.isEmpty ? "; a listener with no known owner" : "; held by \(owners)"
        } else if targetNamespace != nil {
            text += "; nothing listens there"
        }
        return text
    }
}

extension Auditor {
    /// Which namespace each publication leads into, and which listener there takes it.
    static func placePublications(_ input: AuditInput) -> [AuditedPublication] {
        input.publications.map { judged in
            let publication = judged.publication
            var placed = AuditedPublication(judged: judged, targetNamespace: nil, targetName: nil, listener: nil, findings: [])
            guard let target = publication.target else { return placed }
            let inode: UInt64?
            if target.isThisHost {
                inode = input.targetNamespaces.first { $0.value.isHost }?.key
            } else if let address = target.address?.normalized {
                inode = input.targetNamespaces.first { $0.value.addresses.contains(address) }?.key
            } else {
                inode = nil
            }
            guard let inode else { return placed }
            placed.targetNamespace = inode
            placed.targetName = input.targetNamespaces[inode]?.name
            let address = target.address?.normalized
            placed.listener = input.entries.first { entry in
                let s = entry.socket
                return entry.namespace?.inode == inode && s.isListening && s.proto == publication.proto
                    && target.ports.contains(s.localPort)
                    && (s.localAddress.isUnspecified || address == nil || s.localAddress.normalized == address)
            }
            return placed
        }
    }
}
