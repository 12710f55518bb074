/// The audit's safe local probes (README "Probes"): which listeners get
/// one, where to connect, and what the answer proves. Pure: the probing
/// itself is `LocalProbes` in PortcullisScan, which reuses the scan's
/// probe sessions for Redis, memcached and the HTTP APIs, and the codecs
/// here (MongoWire, SNMPWire) for MongoDB and SNMP. Every probe is a
/// read-only request; nothing is written or changed on a probed service.
public enum AuditProbeKind: String, Sendable, Hashable, CaseIterable {
    /// `PING` and `INFO server`.
    case redis
    /// `stats` (TCP, or the UDP frame over UDP).
    case memcached
    /// OP_MSG `{listDatabases: 1, nameOnly: true, $db: "admin"}`.
    case mongodb
    /// `GET / HTTP/1.0`.
    case elasticsearch
    /// `GET /` then `GET /version`.
    case dockerAPI = "docker-api"
    /// SNMPv2c GetRequest for sysDescr.0 with community `public`.
    case snmp

    /// The read-only request as the evidence names it.
    public var request: String {
        switch self {
        case .redis: return "PING"
        case .memcached: return "stats"
        case .mongodb: return "listDatabases"
        case .elasticsearch: return "GET /"
        case .dockerAPI: return "GET /version"
        case .snmp: return "GET sysDescr.0 with community public"
        }
    }
}

/// One listener to probe.
public struct AuditProbeTarget: Sendable, Hashable {
    /// The listening socket's inode: the results are keyed by it.
    public var inode: UInt64
    /// Which probe.
    public var kind: AuditProbeKind
    /// TCP, or UDP (SNMP, memcached's UDP port).
    public var proto: TransportProtocol
    /// Where to connect: the loopback address of the socket's family for a wildcard bind, else the bound address.
    public var address: IPAddress
    /// The listening port.
    public var port: UInt16
    /// The nsfs inode of the socket's network namespace when it is not portcullis's own (connect from inside it); nil for its own.
    public var namespaceInode: UInt64?

    /// A target; `namespaceInode` nil for a listener in portcullis's own network namespace.
    public init(
        inode: UInt64, kind: AuditProbeKind, proto: TransportProtocol, address: IPAddress, port: UInt16, namespaceInode: UInt64? = nil
    ) {
        self.inode = inode
        self.kind = kind
        self.proto = proto
        self.address = address
        self.port = port
        self.namespaceInode = namespaceInode
    }
}

/// What one probe found: access without credentials, or a refusal asking for them.
public struct ServiceProbeEvidence: Sendable, Hashable {
    /// Whether the service answered or asked for credentials.
    public enum Outcome: String, Sendable, Hashable {
        /// The read-only request was answered without credentials.
        case answered
        /// The service refused it until the client authenticates.
        case authenticationRequired = "authentication_required"
    }

    /// The probe that ran.
    public var kind: AuditProbeKind
    /// What it found.
    public var outcome: Outcome
    /// The answer (escaped, capped), or the refusal's words (`NOAUTH`, `HTTP 401`, `Unauthorized, code 13`).
    public var answer: String

    /// Evidence from a probe's answer.
    public init(kind: AuditProbeKind, outcome: Outcome, answer: String) {
        self.kind = kind
        self.outcome = outcome
        self.answer = answer
    }

    /// The evidence line the finding carries: "probe: PING answered +PONG without AUTH",
    /// "probe: authentication required (NOAUTH)".
    public var line: String {
        switch (outcome, kind) {
        case (.authenticationRequired, _): return "probe: authentication required (\(answer))"
        case (.answered, .redis): return "probe: PING answered \(answer) without AUTH"
        case (.answered, .snmp): return "probe: \(kind.request) answered: \(answer)"
        case (.answered, _): return "probe: \(kind.request) answered without authentication: \(answer)"
        }
    }

    /// Whether the answer proves access without credentials.
    public var provesAccess: Bool { outcome == .answered }

    /// Reads what the scan's probe session made of a Redis, memcached,
    /// Elasticsearch or Docker API answer: its `unauthenticated` access, or a
    /// refusal (`-NOAUTH`, `CLIENT_ERROR unauthenticated`, an HTTP 401 or 403).
    /// nil when the answer proves neither.
    public static func from(service: ScanService?, kind: AuditProbeKind) -> ServiceProbeEvidence? {
        guard let service else { return nil }
        if let access = service.unauthenticated {
            let answer = access.answer.isEmpty ? "(empty body)" : access.answer
            return ServiceProbeEvidence(kind: kind, outcome: .answered, answer: answer)
        }
        let banner = service.banner ?? ""
        switch kind {
        case .redis:
            if banner.hasPrefix("NOAUTH") { return ServiceProbeEvidence(kind: kind, outcome: .authenticationRequired, answer: "NOAUTH") }
            // Protected mode: no password, and clients other than loopback refused.
            if banner.hasPrefix("DENIED") {
                return ServiceProbeEvidence(kind: kind, outcome: .authenticationRequired, answer: "DENIED, protected mode")
            }
        case .memcached:
            if banner == "CLIENT_ERROR unauthenticated" {
                return ServiceProbeEvidence(kind: kind, outcome: .authenticationRequired, answer: "CLIENT_ERROR unauthenticated")
            }
        case .elasticsearch, .dockerAPI:
            for code in ["401", "403"] where banner.hasPrefix("HTTP/") && banner.split(separator: " ").dropFirst().first == Substring(code)
            {
                return ServiceProbeEvidence(kind: kind, outcome: .authenticationRequired, answer: "HTTP \(code)")
            }
        case .mongodb, .snmp:
            break
        }
        return nil
    }

    /// Reads MongoDB's answer to `MongoWire.listDatabasesRequest`; nil when it is not one, or neither answers nor asks for credentials.
    public static func mongo(reply bytes: [UInt8]) -> ServiceProbeEvidence? {
        guard let document = try? MongoWire.reply(bytes, requestID: MongoWire.probeRequestID) else { return nil }
        switch MongoWire.outcome(document) {
        case .answered(let names, let total):
            let list = names.joined(separator: ", ") + (total > names.count ? " and \(total - names.count) more" : "")
            return ServiceProbeEvidence(kind: .mongodb, outcome: .answered, answer: "ok: 1, databases: " + (list.isEmpty ? "none" : list))
        case .authenticationRequired(let label):
            return ServiceProbeEvidence(kind: .mongodb, outcome: .authenticationRequired, answer: label)
        case .refused:
            return nil
        }
    }

    /// Reads an agent's answer to `SNMPWire.sysDescrPublicRequest`: a
    /// GetResponse with a value answers community `public`. An agent that does
    /// not know the community stays silent, so there is no refusal to read.
    public static func snmp(reply bytes: [UInt8]) -> ServiceProbeEvidence? {
        guard let response = try? SNMPWire.response(bytes, requestID: SNMPWire.probeRequestID), response.errorStatus == 0,
            let value = response.value
        else { return nil }
        let shown: String
        switch value {
        case .octets(let text): shown = "sysDescr " + (ServiceMatch.banner(text) ?? "(empty)")
        case .noSuchObject, .noSuchInstance, .endOfMibView:
            // Answered, so the community is accepted, though the view hides sysDescr.
            shown = "a GetResponse without sysDescr (not in the community's view)"
        case .integer(let number): shown = "sysDescr \(number)"
        case .oid(let oid): shown = "sysDescr \(oid)"
        case .other(let tag): shown = "a value of type 0x\(DER.hex(tag))"
        }
        return ServiceProbeEvidence(kind: .snmp, outcome: .answered, answer: shown)
    }

    /// The severity a finding takes when this probe proved access, as the
    /// scan rates unauthenticated access (ScanRules): Redis and the Docker API
    /// critical, memcached high (critical over UDP), MongoDB and Elasticsearch
    /// high; SNMP answering `public` high. `current` when the probe proved nothing.
    public func severity(current: Severity, fact: PortFact, proto: TransportProtocol) -> Severity {
        guard provesAccess else { return current }
        if kind == .snmp { return max(current, .high) }
        return max(current, ScanRules.unauthenticatedSeverity(fact, proto: proto))
    }
}

/// Which listeners the audit probes, and where it connects.
public enum AuditProbePlan {
    /// The probe for a listener recognised (by executable or well-known port) as a service that has one; nil otherwise.
    public static func kind(for entry: InventoryEntry) -> AuditProbeKind? {
        let s = entry.socket
        guard s.proto != .raw else { return nil }
        let portFacts = PortKnowledge.facts(port: s.localPort, proto: s.proto)
        let (byExecutable, byPort) = AuditRules.facts(for: entry, portFacts: portFacts)
        for fact in byExecutable + byPort {
            switch (fact.service, s.proto) {
            case ("redis", .tcp): return .redis
            case ("memcached", _): return .memcached
            case ("mongodb", .tcp): return .mongodb
            // 9300 is the node-to-node transport, not the REST API.
            case ("elasticsearch", .tcp) where s.localPort != 9300: return .elasticsearch
            case ("docker", .tcp): return .dockerAPI
            // 162 is where traps arrive, not an agent.
            case ("snmp", .udp) where s.localPort != 162: return .snmp
            default: continue
            }
        }
        return nil
    }

    /// Where a probe of `entry` connects. A wildcard bind is asked at an
    /// address of its namespace that is not loopback (the first IPv4 one for
    /// a wildcard IPv4 or dual-stack bind, the first global IPv6 one for an
    /// IPv6-only bind): the connection then comes from that address, and the
    /// service answers as it answers other hosts (Redis's protected mode
    /// serves loopback clients and refuses all others). Without such an
    /// address (or without the interfaces), 127.0.0.1 or ::1. The bound
    /// address otherwise; nil for a loopback-only listener (not reachable
    /// beyond loopback, so not probed) and an IPv6 link-local one (which
    /// needs an interface to reach).
    public static func address(for entry: InventoryEntry, interfaces: [NetworkInterface]? = nil) -> IPAddress? {
        let address = entry.socket.localAddress
        func outward(_ kind: IPAddress.Kind) -> IPAddress? {
            for interface in interfaces ?? [] where !interface.isLoopback {
                for entry in interface.addresses where entry.address.kind == kind {
                    let candidate = entry.address
                    if !candidate.isLoopback && !candidate.isUnspecified && !candidate.isLinkLocal { return candidate }
                }
            }
            return nil
        }
        switch entry.exposure {
        case .loopback: return nil
        // A dual-stack socket also accepts IPv4, and 127.0.0.1 exists where IPv6 is disabled.
        case .allInterfacesIPv4, .allInterfacesDualStack: return outward(.v4) ?? IPAddress(v4: 127, 0, 0, 1)
        case .allInterfacesIPv6: return outward(.v6) ?? IPAddress(v6High: 0, low: 1)
        case .linkLocal: return address.kind == .v4 ? address : nil
        case .specificAddress: return address.isIPv4Mapped ? address.normalized : address
        }
    }

    /// The listeners to probe: listening, reachable beyond loopback as the
    /// audit judges it (in portcullis's own namespace: not loopback-only and
    /// not filtered by the firewall; in another namespace: published by a
    /// port that reaches it), and recognised as a service with a probe. One
    /// target per socket inode.
    public static func targets(_ input: AuditInput) -> [AuditProbeTarget] {
        var published = Set<UInt64>()
        if !input.publications.isEmpty {
            for placed in Auditor.placePublications(input) where placed.reachable {
                if let inode = placed.listener?.socket.inode { published.insert(inode) }
            }
        }
        var seen = Set<UInt64>()
        var out: [AuditProbeTarget] = []
        for entry in input.entries where entry.socket.isListening && !entry.exposure.isLoopbackOnly {
            let inode = entry.socket.inode
            let reachable = entry.isInOtherNamespace ? published.contains(inode) : input.firewall[inode]?.isFiltered != true
            guard reachable, let kind = kind(for: entry),
                let address = address(for: entry, interfaces: entry.namespace.flatMap { input.interfaces[$0.inode] }),
                seen.insert(inode).inserted
            else { continue }
            out.append(
                AuditProbeTarget(
                    inode: inode, kind: kind, proto: entry.socket.proto, address: address, port: entry.socket.localPort,
                    namespaceInode: entry.isInOtherNamespace ? entry.namespace?.inode : nil))
        }
        return out
    }
}
