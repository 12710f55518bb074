/// Why `portcullis explain` could not answer a query.
public enum ExplainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The query was empty or only white space.
    case emptyQuery
    /// The digits as typed, which may not fit in any integer type.
    case portOutOfRange(String)
    /// No port table and no knowledge-table entry knows the name; the name as typed.
    case unknownName(String)

    /// The message `portcullis explain` prints, with the user's text escaped.
    public var description: String {
        switch self {
        case .emptyQuery:
            return "nothing to explain: give a port number (0-65535) or a service name"
        case .portOutOfRange(let text):
            return "port \(UntrustedText.escape(Array(text.utf8))) is out of range: ports are 0-65535"
        case .unknownName(let name):
            return
                "no service named '\(UntrustedText.escape(Array(name.utf8)))' in /etc/services, nmap-services or portcullis's knowledge table"
        }
    }
}

/// Everything portcullis can say about one port number, for
/// `portcullis explain PORT|NAME`.
public struct ExplainReport: Sendable, Hashable, Codable {
    /// The port this report is about (a query by name gives one report per port).
    public var port: UInt16
    /// The port's IANA class: system (0-1023), registered (1024-49151) or dynamic (49152-65535).
    public var portClass: PortClass
    /// The port's TCP name from /etc/services, else from nmap-services; nil when neither names it.
    public var tcpService: String?
    /// The port's UDP name from /etc/services, else from nmap-services; nil when neither names it.
    public var udpService: String?
    /// Whether the kernel may pick this port as the local port of outgoing
    /// connections; nil when the range is unknown.
    public var inEphemeralRange: Bool?
    /// Facts for TCP and UDP on this port, most specific first.
    public var facts: [PortFact]

    /// Builds a report from its parts; `build(query:services:ephemeralRange:)` fills them in from the tables.
    public init(
        port: UInt16, portClass: PortClass, tcpService: String?, udpService: String?,
        inEphemeralRange: Bool?, facts: [PortFact]
    ) {
        self.port = port
        self.portClass = portClass
        self.tcpService = tcpService
        self.udpService = udpService
        self.inEphemeralRange = inEphemeralRange
        self.facts = facts
    }

    /// A knowledge-table range wider than this is explained by its first
    /// port only, so `explain x11` gives 6000 rather than 64 reports.
    static let expandRangesUpTo = 4

    /// Explains a port number ("6379") or a service name ("redis", "ssh").
    ///
    /// A name is looked up in /etc/services (names and aliases) and in the
    /// knowledge table (ids, titles, aliases, executables); nmap-services is
    /// consulted only when /etc/services does not know the name, because nmap
    /// gives one name to many ports (`x11` on 6010–6063). Reports are in
    /// ascending port order.
    ///
    /// - Parameter ephemeralRange: the host's ip_local_port_range, if known.
    public static func build(
        query: String, services: ServiceTable, ephemeralRange: ClosedRange<UInt16>?
    ) throws(ExplainError) -> [ExplainReport] {
        let text = trimmed(query)
        guard !text.isEmpty else { throw .emptyQuery }

        let ports: [UInt16]
        if let port = try parsePort(text) {
            ports = [port]
        } else {
            ports = portsNamed(text, services: services)
            guard !ports.isEmpty else { throw .unknownName(String(text)) }
        }
        return ports.map { report(port: $0, services: services, ephemeralRange: ephemeralRange) }
    }

    static func report(port: UInt16, services: ServiceTable, ephemeralRange: ClosedRange<UInt16>?) -> ExplainReport {
        var facts = PortKnowledge.facts(port: port, proto: .tcp)
        for fact in PortKnowledge.facts(port: port, proto: .udp) where !facts.contains(where: { $0.service == fact.service }) {
            facts.append(fact)
        }
        return ExplainReport(
            port: port, portClass: PortClass(port: port),
            tcpService: services.name(port: port, proto: .tcp),
            udpService: services.name(port: port, proto: .udp),
            inEphemeralRange: ephemeralRange.map { $0.contains(port) },
            facts: facts)
    }

    /// The query as a port, nil if it is not a number, or an error if it is a
    /// number outside 0-65535 (including negative ones: "-1" is a mistyped
    /// port, not a service name).
    static func parsePort(_ text: Substring) throws(ExplainError) -> UInt16? {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : text
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard text.first != "-", let port = UInt16(digits) else { throw .portOutOfRange(String(text)) }
        return port
    }

    static func portsNamed(_ name: Substring, services: ServiceTable) -> [UInt16] {
        let name = String(name)
        var ports = Set<UInt16>()
        let fromEtc = services.ports(named: name, includeNmap: false)
        let fromTable = fromEtc.isEmpty ? services.ports(named: name) : fromEtc
        for entry in fromTable { ports.insert(entry.port) }
        for fact in PortKnowledge.facts(named: name) {
            for range in fact.ports {
                if range.count <= expandRangesUpTo {
                    ports.formUnion(range)
                } else {
                    ports.insert(range.lowerBound)
                }
            }
        }
        return ports.sorted()
    }

    static func trimmed(_ s: String) -> Substring {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let start = s.firstIndex(where: { !isSpace($0) }),
            let end = s.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return s[start...end]
    }
}
