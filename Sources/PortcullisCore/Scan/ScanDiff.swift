/// What changed between two scans (`diff --scans A B`, `scan --diff-last`),
/// per host, as ndiff reports it: hosts that appeared or vanished, ports
/// opened or closed, other state changes, services changed.
///
/// Hosts are matched by address (and zone, for a link-local one). A host is **up** as the scan reported it;
/// down and absent (not among the other scan's targets) are the same to the
/// diff: a host up in `to` and not up in `from` appeared. Ports are
/// compared where both scans probed them; a port probed by only one scan is
/// not compared, except on a host that appeared or vanished, whose open
/// ports are listed. `notes` says when the two scans covered different
/// targets, ports or protocols.
public struct ScanDiff: Sendable, Hashable {
    /// How a host changed.
    public enum HostChange: String, Sendable, Hashable {
        /// Up in `to`; down, or not scanned, in `from`.
        case appeared
        /// Up in `from`; down, or not scanned, in `to`.
        case vanished
        /// Up in both, with port, service or MAC address changes.
        case changed
    }

    /// How a port changed.
    public enum PortChange: String, Sendable, Hashable {
        /// Open in `to` and not in `from` (closed, filtered, or the host was not up).
        case opened
        /// Open in `from` and not in `to`: closed, or filtered (no answer: closed or filtered behind a firewall, the scan cannot tell), or the host is gone.
        case closed
        /// Neither side open, and the state differs (closed → filtered: a firewall now drops what was refused).
        case stateChanged = "state_changed"
        /// Open in both; the service's name, product or version differs.
        case serviceChanged = "service_changed"
    }

    /// One port's change.
    public struct Port: Sendable, Hashable {
        /// TCP or UDP.
        public var proto: TransportProtocol
        /// The port number.
        public var port: UInt16
        /// What changed.
        public var change: PortChange
        /// The state in `from`; nil when `from` did not probe it (the host was not scanned or not port-scanned).
        public var fromState: ScanPortState?
        /// The state in `to`; nil when `to` did not probe it.
        public var toState: ScanPortState?
        /// The reason in `from`, with `fromState`.
        public var fromReason: ScanReason?
        /// The reason in `to`, with `toState`.
        public var toReason: ScanReason?
        /// The service in `from`, when the port was open there.
        public var fromService: ScanRecord.Service?
        /// The service in `to`, when the port is open there.
        public var toService: ScanRecord.Service?

        /// Builds a port change.
        public init(
            proto: TransportProtocol, port: UInt16, change: PortChange, fromState: ScanPortState?, toState: ScanPortState?,
            fromReason: ScanReason? = nil, toReason: ScanReason? = nil, fromService: ScanRecord.Service? = nil,
            toService: ScanRecord.Service? = nil
        ) {
            self.proto = proto
            self.port = port
            self.change = change
            self.fromState = fromState
            self.toState = toState
            self.fromReason = fromReason
            self.toReason = toReason
            self.fromService = fromService
            self.toService = toService
        }
    }

    /// The unlisted ports of one protocol changed state together (every other
    /// port of the host went from closed to filtered, say), counted, not listed.
    public struct Others: Sendable, Hashable {
        /// TCP or UDP.
        public var proto: TransportProtocol
        /// How many ports.
        public var count: Int
        /// Their state in `from`.
        public var fromState: ScanPortState
        /// Their state in `to`.
        public var toState: ScanPortState
    }

    /// One host's changes.
    public struct Host: Sendable, Hashable {
        /// The address.
        public var address: IPAddress
        /// The interface of a link-local address; nil for every other.
        public var zone: String?
        /// The name it was reached by, in `to` (else `from`).
        public var hostname: String?
        /// Appeared, vanished or changed.
        public var change: HostChange
        /// The host in `from`; nil when `from` did not scan the address.
        public var from: ScanRecord.Host?
        /// The host in `to`; nil when `to` did not scan the address.
        public var to: ScanRecord.Host?
        /// Ports opened, closed, changed state or service, in (proto, port) order.
        public var ports: [Port]
        /// Unlisted ports that changed state together.
        public var others: [Others]

        /// Both sides know the host's MAC address and they differ (another device answers at that address).
        public var macChanged: Bool {
            guard let before = from?.status?.macAddress, let after = to?.status?.macAddress else { return false }
            return before != after
        }

        /// How many of its ports changed in this way.
        public func count(_ change: PortChange) -> Int { ports.reduce(0) { $0 + ($1.change == change ? 1 : 0) } }
    }

    /// The older scan's header.
    public var from: ScanInfo
    /// The newer scan's header.
    public var to: ScanInfo
    /// Every host with a change, by address.
    public var hosts: [Host]
    /// What the reader should know about the comparison: the scans covered different targets, ports or protocols.
    public var notes: [String]

    /// No host appeared, vanished or changed.
    public var isEmpty: Bool { hosts.isEmpty }

    /// How many hosts changed in this way.
    public func count(_ change: HostChange) -> Int { hosts.reduce(0) { $0 + ($1.change == change ? 1 : 0) } }
    /// How many ports, over every host, changed in this way.
    public func count(_ change: PortChange) -> Int { hosts.reduce(0) { $0 + $1.count(change) } }
    /// How many unlisted ports changed state together, over every host.
    public var othersChanged: Int { hosts.reduce(0) { $0 + $1.others.reduce(0) { $0 + $1.count } } }

    /// Compares two scans; see the type's description.
    public init(from: ScanRecord, to: ScanRecord) {
        self.from = from.info
        self.to = to.info
        notes = Self.notes(from: from.info, to: to.info)
        // By address and zone: fe80::1 on eth0 and on eth1 are two hosts.
        struct HostKey: Hashable, Comparable {
            var address: IPAddress
            var zone: String
            static func < (a: HostKey, b: HostKey) -> Bool { a.address != b.address ? a.address < b.address : a.zone < b.zone }
        }
        func key(_ host: ScanRecord.Host) -> HostKey { HostKey(address: host.address, zone: host.zone ?? "") }
        let before = Dictionary(from.hosts.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(to.hosts.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        let scannedBefore: [TransportProtocol: Set<UInt16>] = [.tcp: Set(from.tcpPorts), .udp: Set(from.udpPorts)]
        let scannedAfter: [TransportProtocol: Set<UInt16>] = [.tcp: Set(to.tcpPorts), .udp: Set(to.udpPorts)]
        var hosts: [Host] = []
        for hostKey in Set(before.keys).union(after.keys).sorted() {
            let old = before[hostKey]
            let new = after[hostKey]
            let wasUp = old?.up ?? false
            let isUp = new?.up ?? false
            guard wasUp || isUp else { continue }
            let change: HostChange = isUp && !wasUp ? .appeared : (wasUp && !isUp ? .vanished : .changed)
            var ports: [Port] = []
            // Every listed port of either side (indexed: a UDP scan may list
            // thousands); the unlisted ones are compared by their `others` below.
            let listedBefore = Self.index(old)
            let listedAfter = Self.index(new)
            let keys = Set(listedBefore.keys).union(listedAfter.keys)
            for key in keys.sorted() {
                let probedBefore = scannedBefore[key.proto]?.contains(key.port) ?? false
                let probedAfter = scannedAfter[key.proto]?.contains(key.port) ?? false
                let then = Self.state(old, listedBefore[key], key.proto, scanned: probedBefore)
                let now = Self.state(new, listedAfter[key], key.proto, scanned: probedAfter)
                let wasOpen = then?.state == .open
                let isOpen = now?.state == .open
                var kind: PortChange?
                if change == .changed && (then == nil || now == nil) {
                    kind = nil  // probed by one scan only: nothing to compare
                } else if isOpen && !wasOpen {
                    kind = .opened
                } else if wasOpen && !isOpen {
                    kind = .closed
                } else if wasOpen && isOpen {
                    if Self.servicesDiffer(listedBefore[key]?.service, listedAfter[key]?.service) { kind = .serviceChanged }
                } else if change == .changed, let then, let now, then.state != now.state {
                    kind = .stateChanged
                }
                guard let kind else { continue }
                ports.append(
                    Port(
                        proto: key.proto, port: key.port, change: kind, fromState: then?.state, toState: now?.state,
                        fromReason: then?.reason, toReason: now?.reason,
                        fromService: wasOpen ? listedBefore[key]?.service : nil, toService: isOpen ? listedAfter[key]?.service : nil))
            }
            var others: [Others] = []
            if change == .changed, let old, let new {
                for proto in [TransportProtocol.tcp, .udp] {
                    guard let a = old.others.first(where: { $0.proto == proto }), let b = new.others.first(where: { $0.proto == proto }),
                        a.state != b.state
                    else { continue }
                    let both = (scannedBefore[proto] ?? []).intersection(scannedAfter[proto] ?? [])
                    let listed = Set(keys.filter { $0.proto == proto }.map(\.port))
                    let count = both.subtracting(listed).count
                    if count > 0 { others.append(Others(proto: proto, count: count, fromState: a.state, toState: b.state)) }
                }
            }
            let host = Host(
                address: hostKey.address, zone: hostKey.zone.isEmpty ? nil : hostKey.zone, hostname: new?.hostname ?? old?.hostname,
                change: change, from: old, to: new, ports: ports,
                others: others)
            if change != .changed || !ports.isEmpty || !others.isEmpty || host.macChanged { hosts.append(host) }
        }
        self.hosts = hosts
    }

    static func index(_ host: ScanRecord.Host?) -> [PortKey: ScanRecord.Port] {
        Dictionary((host?.ports ?? []).map { (PortKey(proto: $0.proto, port: $0.port), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// `Host.state(_:_:scanned:)` with the listed port already looked up.
    static func state(_ host: ScanRecord.Host?, _ listed: ScanRecord.Port?, _ proto: TransportProtocol, scanned: Bool) -> (
        state: ScanPortState, reason: ScanReason
    )? {
        if let listed { return (listed.state, listed.reason) }
        guard scanned, let rest = host?.others.first(where: { $0.proto == proto }) else { return nil }
        return (rest.state, rest.reason)
    }

    /// Open on both sides, the service differs: by name, product and
    /// version, compared only when both were found the same way (both probed,
    /// or both from the services table), so a scan with `--service` against
    /// one without is not a change of every service. A side that names no
    /// service is not compared either.
    static func servicesDiffer(_ a: ScanRecord.Service?, _ b: ScanRecord.Service?) -> Bool {
        guard let a, let b, a.method == b.method else { return false }
        return a.name != b.name || a.product != b.product || a.version != b.version
    }

    static func notes(from: ScanInfo, to: ScanInfo) -> [String] {
        var notes: [String] = []
        if from.scope.targetKey != to.scope.targetKey {
            notes.append(
                "the scans cover different targets (\(from.name): \(from.scope.targets); \(to.name): \(to.scope.targets)): "
                    + "a host scanned by only one counts as down in the other")
        }
        if from.scope.portKey != to.scope.portKey {
            notes.append(
                "the scans probed different ports (\(from.name): \(from.scope.portKey); \(to.name): \(to.scope.portKey)): "
                    + "a port probed by only one is not compared")
        }
        return notes
    }

    struct PortKey: Hashable, Comparable {
        var proto: TransportProtocol
        var port: UInt16
        static func < (a: PortKey, b: PortKey) -> Bool { (a.proto.rawValue, a.port) < (b.proto.rawValue, b.port) }
    }
}
