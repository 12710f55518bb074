/// The scan rules: a verdict for every open port a scan found, with the
/// audit's rule ids where they overlap (README "Audit rules" and "portcullis
/// scan"). Pure: what the port said, PortKnowledge's facts and the scanner's
/// own networks in, findings out.
///
/// A port is judged only when it is `open`: a TCP connect completed, or a
/// UDP service answered. `open|filtered` UDP ports get no verdict: nothing
/// answered, so there is nothing to judge (a firewall that drops looks the
/// same), and an amplifier that does not answer does not amplify.
///
/// What runs on a port: when `--service` identified it (`method` probed),
/// what it said wins over the port number — Redis on 7000 is Redis, and an
/// HTTP server on 6379 is not Redis (an HTTP answer keeps the port's fact
/// only for services that speak HTTP, such as the Docker API on 2375).
/// Otherwise the port number's high-confidence facts decide, and the
/// evidence says it was not confirmed.
public enum ScanRules {
    /// What the rules know beyond the report itself.
    public struct Context: Sendable {
        /// The scanner's directly connected networks, to tell a target on its LAN from one beyond it.
        public var localNetworks: LocalNetworks
        /// Whether service detection (`--service`) ran, so that evidence can say what was not confirmed.
        public var serviceDetection: Bool

        /// The scanner's networks and whether `--service` ran.
        public init(localNetworks: LocalNetworks, serviceDetection: Bool) {
            self.localNetworks = localNetworks
            self.serviceDetection = serviceDetection
        }
    }

    /// Fills `report.findings` (worst first, then host, port and rule
    /// order) and the verdict of every open port.
    public static func apply(to report: inout ScanReport, context: Context) {
        var all: [(host: Int, finding: Finding)] = []
        for h in report.hosts.indices {
            let address = report.hosts[h].address
            for p in report.hosts[h].ports.indices {
                let port = report.hosts[h].ports[p]
                let found = findings(address: address, port: port, context: context)
                report.hosts[h].ports[p].verdict = verdict(port, findings: found)
                all += found.map { (h, $0) }
            }
        }
        report.findings = all.sorted { a, b in
            if a.finding.severity != b.finding.severity { return a.finding.severity > b.finding.severity }
            if a.host != b.host { return a.host < b.host }
            let (sa, sb) = (a.finding.subject, b.finding.subject)
            if sa?.proto.jsonName != sb?.proto.jsonName { return (sa?.proto.jsonName ?? "") < (sb?.proto.jsonName ?? "") }
            if sa?.port != sb?.port { return (sa?.port ?? 0) < (sb?.port ?? 0) }
            return a.finding.rule.rawValue < b.finding.rule.rawValue
        }.map(\.finding)
    }

    /// An open port's verdict: its worst finding's severity, else `open`;
    /// nil for a port that is not open.
    public static func verdict(_ port: ScanPortResult, findings: [Finding]) -> ListenerVerdict? {
        guard port.state == .open else { return nil }
        return findings.map(\.severity).max().map(ListenerVerdict.finding) ?? .open
    }

    /// The findings about one port of the host at `address`; none unless the port is open.
    public static func findings(address: IPAddress, port: ScanPortResult, context: Context) -> [Finding] {
        guard port.state == .open else { return [] }
        let identified = identify(port)
        let ep = endpoint(address, port)
        let placement = context.localNetworks.placement(of: address)
        let service = port.service
        let unauthenticated = identified.probed ? service?.unauthenticated : nil
        var out: [Finding] = []
        func add(_ rule: RuleID, _ severity: Severity, _ title: String, _ evidence: [String], _ fix: String) {
            out.append(
                Finding(
                    rule: rule, severity: severity, title: title,
                    subject: FindingSubject(
                        proto: .transport(port.proto), family: AddressFamily(address.kind), localAddress: address.description,
                        port: port.port, inode: 0, exposure: nil),
                    owners: [], evidence: base(address, port, placement) + evidence, remediation: fix))
        }
        func close() -> String { "drop inbound \(port.port)/\(port.proto.rawValue) in the firewall, or bind the service to loopback" }
        let isHTTP = identified.probed && isHTTPName(service?.name ?? "")

        // Datastores and control planes.
        if let fact = identified.facts.first(where: { $0.isIn(.datastore) || $0.isIn(.adminAPI) }) {
            let admin = fact.category == .adminAPI || (!fact.isIn(.datastore) && fact.isIn(.adminAPI))
            // memcached's UDP reply is the answer to the scan's own `stats` request (UDPPayloads), which needs no credentials.
            let udpStats = port.proto == .udp && identified.probed && fact.service == "memcached"
            var evidence = [identified.sentence(fact, context)]
            let severity: Severity
            let title: String
            if let unauthenticated {
                severity = unauthenticatedSeverity(fact, proto: port.proto)
                title = "\(fact.title) answering without authentication on \(ep)"
                evidence.append("read-only request `\(unauthenticated.request)` answered without credentials: \(unauthenticated.answer)")
            } else if udpStats {
                severity = unauthenticatedSeverity(fact, proto: port.proto)
                title = "\(fact.title) answering without authentication on \(ep)"
                evidence.append("answered the scan's UDP `stats` request: memcached's UDP protocol has no authentication")
            } else {
                severity = fact.severityHint
                title = "\(fact.title) reachable on \(ep)"
                evidence.append(
                    context.serviceDetection
                        ? "unauthenticated access not shown: --service got no answer without credentials (refused, or no read-only request is made for this service)"
                        : "unauthenticated access not confirmed: run with --service")
            }
            evidence += fact.securityNotes.prefix(1)
            add(
                admin ? .exposedAdminAPI : .exposedDatastore, severity, title, evidence,
                fact.remediation ?? "Require authentication, and \(close())")
        } else if let unauthenticated, isHTTP {
            // An HTTP page answered a read-only request without credentials,
            // and no fact names the application: an admin page left open.
            add(
                .exposedAdminAPI, .high, "HTTP admin page answering without authentication on \(ep)",
                [
                    "identified by --service as \(describe(service))",
                    "read-only request `\(unauthenticated.request)` answered without credentials: \(unauthenticated.answer)",
                ],
                "Require authentication on it (the application's login, or HTTP authentication in front of it), and \(close())")
        }
        // Evidence of access without credentials that no finding above used
        // (anonymous FTP, say) goes with the cleartext finding.
        let unusedEvidence =
            unauthenticated.map { out.isEmpty ? ["read-only request `\($0.request)` answered without credentials: \($0.answer)"] : [] }
            ?? []

        // Cleartext and legacy remote access.
        if let fact = identified.facts.first(where: { $0.isIn(.cleartextRemoteAccess) }) {
            add(
                .cleartextRemoteAccess, fact.severityHint, "\(fact.title) (cleartext remote access) open on \(ep)",
                [identified.sentence(fact, context)] + unusedEvidence + fact.securityNotes.prefix(1),
                fact.remediation ?? "Disable it and use SSH; until then, \(close())")
        }

        // UDP amplifiers that answered.
        if port.proto == .udp, let fact = identified.facts.first(where: { $0.isIn(.amplification) }) {
            add(
                .udpAmplification, fact.severityHint >= .high ? .high : .medium,
                "\(fact.title) over UDP answering on \(ep): a reflection/amplification vector",
                [identified.sentence(fact, context), "a small spoofed request earns a larger reply sent to the victim"],
                fact.remediation ?? "Answer only local clients: \(close())")
        }

        // File sharing (SMB, NetBIOS, NFS, rpcbind, rsync) is for the LAN:
        // a finding only when the target is beyond the scanner's own
        // networks (or they could not be read). On the same LAN it is what
        // these protocols are for, and the port's verdict stays `open`.
        if let fact = identified.facts.first(where: { $0.category == .fileSharing }), !placement.isOnLink {
            add(
                .exposedFileSharing, fact.severityHint, "\(fact.title) reachable from beyond its LAN on \(ep)",
                [identified.sentence(fact, context)] + fact.securityNotes.prefix(1),
                fact.remediation ?? "Firewall \(port.port)/\(port.proto.rawValue) to the LAN or a VPN")
        }
        return out
    }

    // MARK: identification

    /// The facts that describe what answers on a port, and how they were chosen.
    struct Identification {
        var facts: [PortFact]
        /// The facts came from what the service said (`--service`), not the port number alone.
        var probed: Bool
        /// Facts found by the service's own name or product (the others are the port's, kept for an HTTP answer).
        var byName: Set<String>
        var service: ScanService?
        var port: UInt16
        var proto: TransportProtocol

        /// One evidence sentence: how `fact` was recognised.
        func sentence(_ fact: PortFact, _ context: Context) -> String {
            let location = "\(port)/\(proto.rawValue)"
            if probed && byName.contains(fact.service) { return "identified by --service as \(describe(service))" }
            if probed { return "answered HTTP (\(describe(service))) on \(location), \(fact.title)'s port" }
            if context.serviceDetection {
                return "port \(location) is \(fact.title)'s; --service could not identify what answers, so this rests on the port number"
            }
            return "port \(location) is \(fact.title)'s (by port number; not confirmed: run with --service)"
        }
    }

    /// What `--service` said names the service when it probed one; else the
    /// port number's high-confidence facts.
    static func identify(_ port: ScanPortResult) -> Identification {
        let portFacts = PortKnowledge.facts(port: port.port, proto: port.proto).filter { $0.confidence == .high }
        guard let service = port.service, service.method == .probed else {
            return Identification(
                facts: portFacts, probed: false, byName: [], service: port.service, port: port.port, proto: port.proto)
        }
        var found: [PortFact] = []
        func add(_ facts: [PortFact]) {
            for fact in facts where fact.protocols.contains(port.proto) && !found.contains(where: { $0.service == fact.service }) {
                found.append(fact)
            }
        }
        let name = bareName(service.name)
        add(PortKnowledge.facts(named: name))
        if let product = service.product {
            add(PortKnowledge.facts(named: product))
            if let word = product.split(separator: " ").first { add(PortKnowledge.facts(named: String(word))) }
        }
        // A program named by its product serves several ports (dnsmasq: DNS, DHCP, TFTP): on one of
        // them it is that port's service only, as in the audit.
        let onThisPort = found.filter { $0.covers(port: port.port, proto: port.proto) }
        if !onThisPort.isEmpty { found = onThisPort }
        let byName = Set(found.map(\.service))
        if isHTTPName(name) { add(portFacts.filter(\.speaksHTTP)) }
        return Identification(facts: found, probed: true, byName: byName, service: service, port: port.port, proto: port.proto)
    }

    /// The service name without a TLS prefix ("ssl/http" → "http").
    static func bareName(_ name: String) -> String {
        let lower = name.lowercased()
        for prefix in ["ssl/", "tls/"] where lower.hasPrefix(prefix) { return String(lower.dropFirst(prefix.count)) }
        return lower
    }

    /// nmap's names for HTTP: http, https, http-alt, http-proxy, https-alt, ...
    static func isHTTPName(_ name: String) -> Bool { bareName(name).hasPrefix("http") }

    /// "redis (Redis key-value store 7.0.15)".
    static func describe(_ service: ScanService?) -> String {
        guard let service else { return "an unnamed service" }
        let product = [service.product, service.version].compactMap { $0 }.joined(separator: " ")
        return product.isEmpty ? service.name : "\(service.name) (\(product))"
    }

    /// How bad a datastore or control plane answering without credentials is:
    /// Redis is critical (CONFIG SET and replication let a client write files
    /// and take the host over), memcached high (data and sessions read and
    /// flushed), critical over UDP (also a record amplifier); anything else
    /// at least high, and the Docker API's own critical stays.
    static func unauthenticatedSeverity(_ fact: PortFact, proto: TransportProtocol) -> Severity {
        switch fact.service {
        case "redis": return .critical
        case "memcached": return proto == .udp ? .critical : .high
        default: return max(fact.severityHint, .high)
        }
    }

    // MARK: evidence

    static func endpoint(_ address: IPAddress, _ port: ScanPortResult) -> String {
        "\(InventoryRenderer.address(address, port: port.port, proto: port.proto))/\(port.proto.rawValue)"
    }

    /// What every finding about a port says first: that it answered, and where the target is.
    static func base(_ address: IPAddress, _ port: ScanPortResult, _ placement: LocalNetworks.Placement) -> [String] {
        let answered =
            port.proto == .tcp
            ? "\(endpoint(address, port)) accepted a TCP connection from the scanner (\(port.reason.rawValue))"
            : "\(endpoint(address, port)) answered the scanner's UDP request (\(port.reason.rawValue))"
        let location: String
        switch placement {
        case .onLink(let network): location = "\(address) is on \(network), a network the scanner is directly connected to"
        case .beyond: location = "\(address) is beyond the scanner's directly connected networks (reached through a router)"
        case .unknown: location = "the scanner's own networks could not be read, so whether \(address) is on its LAN is unknown"
        }
        return [answered, location]
    }
}

extension ScanReport {
    /// How many findings are at or above `severity` (`--fail-on`), as `AuditReport.count(atLeast:)`.
    public func count(atLeast severity: Severity) -> Int { findings.filter { $0.severity >= severity }.count }
}
