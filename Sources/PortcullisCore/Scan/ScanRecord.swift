// A scan as the history database keeps it (`scan --record`), and as
// `ScanDiff` compares it: what was asked, and per host what answered.
//
// Compact by construction: a host's ports in its most common state other
// than open (with the most common reason) are not listed one by one but
// counted, as nmap's "Not shown" does, so a `-p-` scan of a /24 stores a
// few rows per host, not 65,536. Every port's state and reason can still be
// told (`Host.state(_:_:)`): a port of the scan's port list that is not
// listed has the host's `others` state for its protocol. Open ports are
// always listed, with their service and verdict. Strings that came off the
// network are escaped already and cut to `ScanRecord.textLimit` characters.

/// What a scan covered: the targets and ports as the user wrote them (for
/// people), and normalised keys (for matching scans of the same targets).
public struct ScanScope: Sendable, Hashable {
    /// The targets as given: the arguments, then `-iL FILE`, `--exclude ...`, `--excludefile FILE` when used.
    public var targets: String
    /// The ports as given: the `-p` text, or `top N` for `--top-ports` (or the default).
    public var ports: String
    /// The protocols scanned, TCP before UDP.
    public var protocols: [TransportProtocol]
    /// The targets normalised (`ScanScope.targetKey`): equal for two ways of writing the same targets.
    public var targetKey: String
    /// The ports scanned per protocol, as ranges (`tcp:22,80,8000-8100 udp:53`).
    public var portKey: String

    /// Builds a scope; the keys are compared, the rest is shown.
    public init(targets: String = "", ports: String = "", protocols: [TransportProtocol] = [], targetKey: String = "", portKey: String = "")
    {
        self.targets = targets
        self.ports = ports
        self.protocols = protocols
        self.targetKey = targetKey
        self.portKey = portKey
    }

    /// The scope of a planned scan. `targets`, `excludes` as parsed (the
    /// `-iL`/`--excludefile` files' items included); `given` the targets as
    /// typed, `portsGiven` the port text as typed (or `top N`).
    public init(
        given: String, targets: [TargetSpec], excludes: [TargetSpec], portsGiven: String, tcpPorts: [UInt16], udpPorts: [UInt16]
    ) {
        self.init(
            targets: given, ports: portsGiven,
            protocols: (tcpPorts.isEmpty ? [] : [.tcp]) + (udpPorts.isEmpty ? [] : [.udp]),
            targetKey: Self.targetKey(targets: targets, excludes: excludes),
            portKey: Self.portKey(tcp: tcpPorts, udp: udpPorts))
    }

    /// Both keys: what `scan --diff-last` matches on.
    public var key: String { targetKey + " " + portKey }

    /// The targets in one canonical spelling: the addresses (every address,
    /// CIDR block and range, merged, less the excluded addresses) as sorted
    /// ranges, then the host names (lowercase, without a trailing dot,
    /// sorted, once each), then excluded names, and the excluded addresses
    /// when names are scanned (they may cut into what a name resolves to).
    /// `10.0.0.1-2`, `10.0.0.2,10.0.0.1` and `10.0.0.1 10.0.0.2` give the same key.
    public static func targetKey(targets: [TargetSpec], excludes: [TargetSpec]) -> String {
        func addressRanges(_ specs: [TargetSpec]) -> [AddressRange] { TargetSet.merged(specs.compactMap(\.addresses)) }
        func names(_ specs: [TargetSpec]) -> [String] {
            Set(
                specs.compactMap(\.hostname).map { name in
                    var lower = name.lowercased()
                    while lower.hasSuffix(".") { lower.removeLast() }
                    return lower
                }
            ).sorted()
        }
        let excluded = addressRanges(excludes)
        let addresses = TargetSet.subtracting(excluded, from: addressRanges(targets))
        let targetNames = names(targets)
        var parts: [String] = []
        if !addresses.isEmpty { parts.append(addresses.map(\.description).joined(separator: ",")) }
        if !targetNames.isEmpty { parts.append("names:" + targetNames.joined(separator: ",")) }
        let excludedNames = names(excludes)
        if !excludedNames.isEmpty { parts.append("exclude-names:" + excludedNames.joined(separator: ",")) }
        if !targetNames.isEmpty && !excluded.isEmpty { parts.append("exclude:" + excluded.map(\.description).joined(separator: ",")) }
        return parts.joined(separator: " ")
    }

    /// `tcp:22,80,8000-8100 udp:53`; a protocol not scanned is left out.
    public static func portKey(tcp: [UInt16], udp: [UInt16]) -> String {
        var parts: [String] = []
        if !tcp.isEmpty { parts.append("tcp:" + portRanges(tcp)) }
        if !udp.isEmpty { parts.append("udp:" + portRanges(udp)) }
        return parts.joined(separator: " ")
    }

    /// Ports as sorted, merged ranges: `[80, 22, 23, 24]` → `22-24,80`.
    public static func portRanges(_ ports: [UInt16]) -> String {
        var out: [String] = []
        var start: Int?
        var previous = -2
        for port in Set(ports).sorted().map(Int.init) {
            if port != previous + 1 {
                if let start { out.append(start == previous ? "\(start)" : "\(start)-\(previous)") }
                start = port
            }
            previous = port
        }
        if let start { out.append(start == previous ? "\(start)" : "\(start)-\(previous)") }
        return out.joined(separator: ",")
    }

    /// Reads `portRanges`' text back; nil when it is not in that form.
    public static func parsePortRanges(_ text: String) -> [UInt16]? {
        if text.isEmpty { return [] }
        var out: [UInt16] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let first = UInt16(bounds[0]), let last = UInt16(bounds[bounds.count - 1]),
                first <= last
            else { return nil }
            out += (first...last).map { $0 }
        }
        return out
    }
}

/// A stored scan's header: what `history --scans` lists.
public struct ScanInfo: Sendable, Hashable {
    /// The scan's row id in the history database (ascending in recording order); nil for a scan not stored.
    public var id: Int64?
    /// When the scan started, in seconds since the epoch.
    public var startTime: Int64
    /// When it ended, in seconds since the epoch.
    public var endTime: Int64
    /// How long it took, in milliseconds.
    public var durationMilliseconds: Int64
    /// The targets and ports asked for.
    public var scope: ScanScope
    /// How many addresses were scanned.
    public var hostCount: Int
    /// How many were up (`ScanHostResult.isUp`).
    public var hostsUp: Int
    /// How many ports were open, over every host.
    public var openPorts: Int

    /// Builds a header from its stored columns.
    public init(
        id: Int64?, startTime: Int64, endTime: Int64, durationMilliseconds: Int64, scope: ScanScope, hostCount: Int, hostsUp: Int,
        openPorts: Int
    ) {
        self.id = id
        self.startTime = startTime
        self.endTime = endTime
        self.durationMilliseconds = durationMilliseconds
        self.scope = scope
        self.hostCount = hostCount
        self.hostsUp = hostsUp
        self.openPorts = openPorts
    }

    /// "scan 7" for a stored scan, "this scan" for one that is not.
    public var name: String { id.map { "scan \($0)" } ?? "this scan" }
}

/// A scan in its stored form; see the top of this file.
public struct ScanRecord: Sendable, Hashable {
    /// The longest service name, product, version, banner or detail kept, in characters.
    public static let textLimit = 160

    /// What was known of the service on an open port.
    public struct Service: Sendable, Hashable {
        /// nmap's name ("ssh", "http").
        public var name: String
        /// The product the service named, escaped; nil when it did not say.
        public var product: String?
        /// Its version, escaped; nil when it did not say.
        public var version: String?
        /// The first line the service sent, escaped and cut to `textLimit`.
        public var banner: String?
        /// The services table's name for the port, or what the port answered.
        public var method: ScanService.Method

        /// Builds a service; the texts are cut to `ScanRecord.textLimit`.
        public init(name: String, product: String? = nil, version: String? = nil, banner: String? = nil, method: ScanService.Method) {
            self.name = ScanRecord.capped(name)
            self.product = product.map(ScanRecord.capped)
            self.version = version.map(ScanRecord.capped)
            self.banner = banner.map(ScanRecord.capped)
            self.method = method
        }

        /// What a scan's service becomes when stored: TLS details and the unauthenticated-access evidence are left out.
        public init(_ service: ScanService) {
            self.init(
                name: service.name, product: service.product, version: service.version, banner: service.banner, method: service.method)
        }

        /// "ssh OpenSSH 9.2p1", or the name alone.
        public var summary: String { [name, product, version].compactMap { $0 }.joined(separator: " ") }
    }

    /// One listed port.
    public struct Port: Sendable, Hashable {
        /// TCP or UDP.
        public var proto: TransportProtocol
        /// The port number.
        public var port: UInt16
        /// What the probes concluded.
        public var state: ScanPortState
        /// Why.
        public var reason: ScanReason
        /// Extra words for the reason (an errno), cut to `textLimit`; nil when none.
        public var detail: String?
        /// The service, for a port that has one named.
        public var service: Service?
        /// The scan rules' verdict, when they ran.
        public var verdict: ListenerVerdict?

        /// Builds a listed port.
        public init(
            proto: TransportProtocol, port: UInt16, state: ScanPortState, reason: ScanReason, detail: String? = nil,
            service: Service? = nil, verdict: ListenerVerdict? = nil
        ) {
            self.proto = proto
            self.port = port
            self.state = state
            self.reason = reason
            self.detail = detail.map(ScanRecord.capped)
            self.service = service
            self.verdict = verdict
        }
    }

    /// A host's unlisted ports of one protocol: all in one state, for one reason.
    public struct Others: Sendable, Hashable {
        /// TCP or UDP.
        public var proto: TransportProtocol
        /// Their state (never open).
        public var state: ScanPortState
        /// Their reason.
        public var reason: ScanReason
        /// How many ports.
        public var count: Int

        /// Builds the summary of unlisted ports.
        public init(proto: TransportProtocol, state: ScanPortState, reason: ScanReason, count: Int) {
            self.proto = proto
            self.state = state
            self.reason = reason
            self.count = count
        }
    }

    /// One scanned address.
    public struct Host: Sendable, Hashable {
        /// The address.
        public var address: IPAddress
        /// The interface of a link-local address (`eth0` of `fe80::1%eth0`); nil for every other.
        public var zone: String?
        /// The name it was reached by, when it came from one.
        public var hostname: String?
        /// Up as the scan reported it (`ScanHostResult.isUp`).
        public var up: Bool
        /// What host discovery said; nil when discovery did not run.
        public var status: HostStatus?
        /// The ports listed: every open port, and every port whose state and reason differ from `others`.
        public var ports: [Port]
        /// The unlisted ports, per protocol (at most one entry each).
        public var others: [Others]

        /// Builds a host from its stored parts.
        public init(
            address: IPAddress, zone: String? = nil, hostname: String?, up: Bool, status: HostStatus?, ports: [Port], others: [Others]
        ) {
            self.address = address
            self.zone = zone
            self.hostname = hostname
            self.up = up
            self.status = status
            self.ports = ports
            self.others = others
        }

        /// The compact form of a scanned host: open ports and the exceptions listed, the commonest non-open (state, reason) of each protocol counted.
        public init(_ host: ScanHostResult) {
            var others: [Others] = []
            var listed: [Port] = []
            for proto in [TransportProtocol.tcp, .udp] {
                let ports = host.ports.filter { $0.proto == proto }
                var counts: [ScanPortState: [ScanReason: Int]] = [:]
                for port in ports where port.state != .open { counts[port.state, default: [:]][port.reason, default: 0] += 1 }
                // The commonest (state, reason); ties go to the first state, then reason, in a fixed order.
                var best: (state: ScanPortState, reason: ScanReason, count: Int)?
                for state in ScanPortState.allCases {
                    for (reason, count) in (counts[state] ?? [:]).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                        if best == nil || count > best?.count ?? 0 { best = (state, reason, count) }
                    }
                }
                if let best { others.append(Others(proto: proto, state: best.state, reason: best.reason, count: best.count)) }
                for port in ports where port.state == .open || port.state != best?.state || port.reason != best?.reason {
                    listed.append(
                        Port(
                            proto: port.proto, port: port.port, state: port.state, reason: port.reason, detail: port.detail,
                            service: port.service.map(Service.init), verdict: port.verdict))
                }
            }
            self.init(
                address: host.address, zone: host.zone?.name, hostname: host.hostname, up: host.isUp, status: host.status, ports: listed,
                others: others)
        }

        /// The address as the user writes it: `fe80::1%eth0` for a link-local one, else the plain address.
        public var addressText: String { zone.map { "\(address)%\($0)" } ?? address.description }

        /// Reads `addressText` back: the address, and the zone after `%` if any; nil when the address does not parse.
        public static func parseAddressText(_ text: String) -> (IPAddress, String?)? {
            let parts = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = IPAddress(parsing: String(parts[0])) else { return nil }
            return (address, parts.count > 1 ? String(parts[1]) : nil)
        }

        /// The state and reason of `port`, given the scan's port list for
        /// `proto`: listed, else the unlisted ports' (`others`); nil when
        /// the port was not probed on this host (not in the list, or the host was not port-scanned).
        public func state(_ proto: TransportProtocol, _ port: UInt16, scanned: Bool) -> (state: ScanPortState, reason: ScanReason)? {
            if let listed = ports.first(where: { $0.proto == proto && $0.port == port }) { return (listed.state, listed.reason) }
            guard scanned, let rest = others.first(where: { $0.proto == proto }) else { return nil }
            return (rest.state, rest.reason)
        }

        /// The listed port, when it is listed.
        public func port(_ proto: TransportProtocol, _ port: UInt16) -> Port? {
            ports.first { $0.proto == proto && $0.port == port }
        }

        /// How many ports are open.
        public var openCount: Int { ports.reduce(0) { $0 + ($1.state == .open ? 1 : 0) } }
    }

    /// The header.
    public var info: ScanInfo
    /// The TCP ports probed on each port-scanned host.
    public var tcpPorts: [UInt16]
    /// The UDP ports probed on each port-scanned host.
    public var udpPorts: [UInt16]
    /// Every scanned address, in the scan's order.
    public var hosts: [Host]

    /// Builds a record from its stored parts.
    public init(info: ScanInfo, tcpPorts: [UInt16], udpPorts: [UInt16], hosts: [Host]) {
        self.info = info
        self.tcpPorts = tcpPorts
        self.udpPorts = udpPorts
        self.hosts = hosts
    }

    /// The record of a finished scan, not yet stored (`info.id` nil).
    public init(_ report: ScanReport, scope: ScanScope, tcpPorts: [UInt16], udpPorts: [UInt16]) {
        let hosts = report.hosts.map(Host.init)
        self.init(
            info: ScanInfo(
                id: nil, startTime: report.startTime, endTime: report.endTime, durationMilliseconds: report.durationMilliseconds,
                scope: scope, hostCount: hosts.count, hostsUp: hosts.filter(\.up).count,
                openPorts: hosts.reduce(0) { $0 + $1.openCount }),
            tcpPorts: tcpPorts, udpPorts: udpPorts, hosts: hosts)
    }

    /// The ports probed for `proto`.
    public func ports(_ proto: TransportProtocol) -> [UInt16] { proto == .udp ? udpPorts : tcpPorts }

    /// `text` cut to `textLimit` characters, with "…" when cut.
    public static func capped(_ text: String) -> String {
        text.count <= textLimit ? text : String(text.prefix(textLimit - 1)) + "…"
    }
}
