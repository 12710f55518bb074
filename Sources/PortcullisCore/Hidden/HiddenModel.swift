/// Model of the hidden-port check: several independent views of which
/// (protocol, family, port) are in use, compared so that a port one view
/// sees and another does not stands out. Pure values; the Linux target
/// gathers them.

/// One port of one protocol and address family.
public struct PortKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var family: AddressFamily
    public var port: UInt16

    public init(_ proto: TransportProtocol, _ family: AddressFamily, _ port: UInt16) {
        self.proto = proto
        self.family = family
        self.port = port
    }

    public static func < (a: PortKey, b: PortKey) -> Bool {
        if a.proto != b.proto { return a.proto.rawValue < b.proto.rawValue }
        if a.family != b.family { return a.family.rawValue < b.family.rawValue }
        return a.port < b.port
    }

    /// "8080/tcp ipv6"
    public var description: String { "\(port)/\(proto.rawValue) \(family.rawValue)" }
}

/// What a bind(2) of the wildcard address on a port said. A port in use is a
/// result, not an error.
public enum BindOutcome: Hashable, Sendable {
    /// EADDRINUSE: some socket holds the port.
    case inUse
    case free
    /// The probe could not be made, e.g. EACCES below 1024 without
    /// CAP_NET_BIND_SERVICE; the reason says why.
    case notProbed(String)
    /// Any other errno.
    case error(errno: Int32, message: String)
    /// Not probed because the first table dump already lists a socket that
    /// holds the port: a probe could only say "in use", which is explained.
    case listed

    public var name: String {
        switch self {
        case .listed: return "listed"
        case .inUse: return "in_use"
        case .free: return "free"
        case .notProbed: return "not_probed"
        case .error: return "error"
        }
    }
}

/// What a TCP connect to loopback on the port said.
public enum ConnectOutcome: String, Hashable, Sendable {
    case accepted, refused
    case timedOut = "timed_out"
    case failed
    /// UDP, or TCP when the bind probe did not find the port in use.
    case notProbed = "not_probed"
}

/// Both probes of one port, as made during re-verification.
public struct ProbeEvidence: Hashable, Sendable {
    public var bind: BindOutcome
    public var connect: ConnectOutcome
    public init(bind: BindOutcome, connect: ConnectOutcome = .notProbed) {
        self.bind = bind
        self.connect = connect
    }
}

/// What one socket table (the netlink dump or the /proc/net files) lists.
public struct TableView: Sendable, Equatable {
    /// (proto, family, local port) of every row, port 0 excluded (unbound).
    public private(set) var listed: Set<PortKey> = []
    /// IPv4 keys also occupied by IPv6 sockets that are not IPV6_V6ONLY:
    /// such a socket makes a bind of 0.0.0.0 on its port fail whatever its
    /// own address (even ::1 — the kernel gives non-mapped IPv6 sockets the
    /// IPv4 address 127.0.0.6, which a wildcard bind conflicts with). The
    /// /proc/net tables and TIME_WAIT rows do not carry V6ONLY, so unknown
    /// counts as not V6ONLY: erring towards "explained" never invents a finding.
    public private(set) var dualStackV4: Set<PortKey> = []
    /// Listed keys minus those only TCP sockets that are bound but neither
    /// listening nor connected account for: netlink lists those (asked for
    /// with TCP_BOUND_INACTIVE, Linux 6.8+, reported in state CLOSE) but
    /// /proc/net never does, so comparing them between the tables would
    /// invent a /proc hook; and minus TIME_WAIT rows, which come and go on
    /// their own between two reads (and hide nothing: no process holds them).
    public private(set) var comparable: Set<PortKey> = []
    /// Socket inodes per listed key (TIME_WAIT rows have inode 0, left out).
    public private(set) var inodesByKey: [PortKey: Set<UInt64>] = [:]
    public private(set) var allInodes: Set<UInt64> = []

    public init() {}

    public init(records: [SocketRecord]) {
        for record in records { add(record) }
    }

    public mutating func add(_ record: SocketRecord) {
        guard record.proto != .raw else { return }
        if record.inode != 0 { allInodes.insert(record.inode) }
        guard record.localPort != 0 else { return }
        let key = PortKey(record.proto, record.family, record.localPort)
        listed.insert(key)
        let transient = record.proto == .tcp && (record.state == .close || record.state == .boundInactive || record.state == .timeWait)
        if !transient { comparable.insert(key) }
        if record.inode != 0 { inodesByKey[key, default: []].insert(record.inode) }
        if record.family == .ipv6, record.v6only != true {
            let v4 = PortKey(record.proto, .ipv4, record.localPort)
            dualStackV4.insert(v4)
            if record.inode != 0 { inodesByKey[v4, default: []].insert(record.inode) }
        }
    }

    /// Whether this table explains a bind probe finding `key` in use.
    public func covers(_ key: PortKey) -> Bool { listed.contains(key) || dualStackV4.contains(key) }

    /// Every key `covers` accepts: the ports a bind probe need not look at.
    public var coveredKeys: Set<PortKey> { listed.union(dualStackV4) }

    /// Both tables together: used to merge a dump taken before a probe with
    /// one taken after, so a socket present at either moment explains it.
    public func union(_ other: TableView) -> TableView {
        // Into the bigger one: the cost is in inserting the smaller.
        guard allInodes.count + listed.count >= other.allInodes.count + other.listed.count else { return other.union(self) }
        var merged = self
        merged.listed.formUnion(other.listed)
        merged.comparable.formUnion(other.comparable)
        merged.dualStackV4.formUnion(other.dualStackV4)
        merged.inodesByKey.merge(other.inodesByKey) { $0.union($1) }
        merged.allInodes.formUnion(other.allInodes)
        return merged
    }
}

/// The socket tables at one moment. A view that could not be read is nil
/// (and a diagnostic says why); the comparison then uses what is there.
public struct TableSnapshot: Sendable, Equatable {
    public var netlink: TableView?
    public var procNet: TableView?
    /// Inodes listed by every other socket table (unix, netlink, packet,
    /// raw, icmp, udplite, and the tables of other network namespaces), so
    /// that the fd walk's non-TCP/UDP sockets are not taken for hidden ones.
    public var otherInodes: Set<UInt64>

    public init(netlink: TableView?, procNet: TableView?, otherInodes: Set<UInt64> = []) {
        self.netlink = netlink
        self.procNet = procNet
        self.otherInodes = otherInodes
    }

    public func union(_ other: TableSnapshot) -> TableSnapshot {
        func join(_ a: TableView?, _ b: TableView?) -> TableView? {
            switch (a, b) {
            case (let a?, let b?): return a.union(b)
            case (let a?, nil): return a
            case (nil, let b): return b
            }
        }
        return TableSnapshot(
            netlink: join(netlink, other.netlink), procNet: join(procNet, other.procNet),
            otherInodes: otherInodes.union(other.otherInodes))
    }

    /// Whether any table lists the inode.
    public func knows(inode: UInt64) -> Bool {
        (netlink?.allInodes.contains(inode) ?? false) || (procNet?.allInodes.contains(inode) ?? false)
            || otherInodes.contains(inode)
    }
}

/// Bind probe results for a sweep. Only non-free outcomes are stored (a
/// sweep has 262,140 results, nearly all free).
public struct BindSweep: Sendable, Equatable {
    public var outcomes: [PortKey: BindOutcome]
    /// Which (proto, family) pairs were swept; a key of another pair is notProbed.
    public var pairs: Set<Pair>

    public struct Pair: Hashable, Sendable {
        public var proto: TransportProtocol
        public var family: AddressFamily
        public init(_ proto: TransportProtocol, _ family: AddressFamily) {
            self.proto = proto
            self.family = family
        }
    }

    public init(outcomes: [PortKey: BindOutcome] = [:], pairs: Set<Pair>) {
        self.outcomes = outcomes
        self.pairs = pairs
    }

    public func outcome(_ key: PortKey) -> BindOutcome {
        guard pairs.contains(Pair(key.proto, key.family)) else { return .notProbed("not swept") }
        return outcomes[key] ?? .free
    }

    public var inUse: [PortKey] { outcomes.compactMap { $0.value == .inUse ? $0.key : nil }.sorted() }
}

/// Which pids hold each socket inode (from walking /proc/PID/fd).
public struct HeldSockets: Sendable, Equatable {
    public var byInode: [UInt64: [Int32]]
    public init(byInode: [UInt64: [Int32]] = [:]) { self.byInode = byInode }
}

/// Everything gathered in the first pass.
public struct HiddenViews: Sendable {
    /// Every table dump of the first pass together: what explains a bind
    /// probe or a held inode.
    public var tables: TableSnapshot
    /// One dump, both tables read back to back: what the tables are compared
    /// on, so a socket opened between two dumps is not taken for one that
    /// a table hides.
    public var comparison: TableSnapshot
    public var bind: BindSweep
    public var held: HeldSockets
    /// Processes that exist (a direct look at /proc/PID succeeds) but that the
    /// /proc directory listing does not show, with a short description.
    public var unlisted: [Int32: String]

    public init(
        tables: TableSnapshot, comparison: TableSnapshot? = nil, bind: BindSweep, held: HeldSockets, unlisted: [Int32: String] = [:]
    ) {
        self.tables = tables
        self.comparison = comparison ?? tables
        self.bind = bind
        self.held = held
        self.unlisted = unlisted
    }
}

/// The views a finding names, with their stable JSON names.
public enum HiddenView: String, Sendable, Hashable, CaseIterable {
    case netlink
    case procNet = "proc_net"
    case bindProbe = "bind_probe"
    case connectProbe = "connect_probe"
    case fdWalk = "fd_walk"

    public var label: String {
        switch self {
        case .netlink: return "netlink"
        case .procNet: return "/proc/net"
        case .bindProbe: return "bind probe"
        case .connectProbe: return "connect probe"
        case .fdWalk: return "fd walk"
        }
    }
}

/// The likely way a socket was hidden, judged from which views miss it.
public enum HiddenTechnique: String, Sendable, Hashable {
    /// In use per the probes, in no table: every userland reader is blind.
    case hiddenFromAllReaders = "hidden_from_all_readers"
    /// Missing from the tables as read through libc, but listed when the same
    /// /proc/net file is read with raw system calls: an LD_PRELOAD library.
    case libcHook = "libc_hook"
    /// Listed by netlink but not /proc/net.
    case procNetHook = "proc_net_hook"
    /// Listed by /proc/net but not netlink.
    case inetDiagHook = "inet_diag_hook"
    /// A process holds a socket inode that no table lists.
    case inodeInNoTable = "inode_in_no_table"
    /// A process that /proc/PID shows but the /proc listing omits.
    case processHiddenFromListing = "process_hidden_from_listing"
}

/// Something one view saw that another did not, before re-verification.
public enum HiddenCandidate: Hashable, Sendable {
    case port(PortKey, HiddenTechnique)
    case inode(UInt64, pids: [Int32])
    /// A pid missing from the /proc listing, with what is known of it.
    case process(Int32, description: String)
}

/// A confirmed discrepancy: it persisted through every re-verification round.
public struct HiddenFinding: Sendable, Hashable {
    public var technique: HiddenTechnique
    /// nil for an inode that no table maps to a port, and for a process.
    public var key: PortKey?
    public var inode: UInt64?
    public var seenBy: [HiddenView]
    public var notSeenBy: [HiddenView]
    public var ownerPIDs: [Int32]
    /// Port findings are alarms (exit 4). An inode in no table is a notice:
    /// socket families with no table (AF_VSOCK, AF_ALG, MPTCP, ...) look the same.
    public var alarm: Bool
    public var explanation: String

    /// What a finding is about; the raw value is the JSON `kind`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A port in use that some view does not list.
        case port
        /// A socket inode a process holds that no table maps to a port.
        case inode
        /// A process hidden from the /proc listing.
        case process
    }

    /// A process hidden from the listing, else a port finding when the
    /// port is known, else an inode finding.
    public var kind: Kind {
        if technique == .processHiddenFromListing { return .process }
        return key == nil ? .inode : .port
    }

    public init(
        technique: HiddenTechnique, key: PortKey?, inode: UInt64?, seenBy: [HiddenView], notSeenBy: [HiddenView],
        ownerPIDs: [Int32], alarm: Bool, explanation: String
    ) {
        self.technique = technique
        self.key = key
        self.inode = inode
        self.seenBy = seenBy
        self.notSeenBy = notSeenBy
        self.ownerPIDs = ownerPIDs
        self.alarm = alarm
        self.explanation = explanation
    }
}
