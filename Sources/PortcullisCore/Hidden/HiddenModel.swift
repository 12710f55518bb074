/// Model of the hidden-port check: several independent views of which
/// (protocol, family, port) are in use, compared so that a port one view
/// sees and another does not stands out. Pure values; the Linux target
/// gathers them.

/// One port of one protocol and address family.
public struct PortKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The transport protocol (TCP or UDP; raw sockets have no port).
    public var proto: TransportProtocol
    /// IPv4 or IPv6: the two have separate port spaces, except for dual-stack IPv6 sockets.
    public var family: AddressFamily
    /// The local port number, host byte order; never 0 for a key built from a table row.
    public var port: UInt16

    /// The key of `port` for `proto` and `family`.
    public init(_ proto: TransportProtocol, _ family: AddressFamily, _ port: UInt16) {
        self.proto = proto
        self.family = family
        self.port = port
    }

    /// Orders by protocol name, then family name, then port: the order findings and candidates are listed in.
    public static func < (a: PortKey, b: PortKey) -> Bool {
        if a.proto != b.proto { return a.proto.rawValue < b.proto.rawValue }
        if a.family != b.family { return a.family.rawValue < b.family.rawValue }
        return a.port < b.port
    }

    /// "8080/tcp ipv6"
    public var description: String { "\(port)/\(proto.rawValue) \(family.rawValue)" }

    /// The three fields as one integer. Without this, the enums would hash
    /// their String raw values (RawRepresentable's hashing), and a check
    /// hashes keys hundreds of thousands of times (every port it probes, every
    /// table row).
    public func hash(into hasher: inout Hasher) {
        let protoBits: UInt32
        switch proto {
        case .tcp: protoBits = 0
        case .udp: protoBits = 1 << 16
        case .raw: protoBits = 2 << 16
        }
        let familyBits: UInt32
        switch family {
        case .ipv4: familyBits = 0
        case .ipv6: familyBits = 1 << 24
        }
        hasher.combine(UInt32(port) | protoBits | familyBits)
    }
}

/// What a bind(2) of the wildcard address on a port said. A port in use is a
/// result, not an error.
public enum BindOutcome: Hashable, Sendable {
    /// EADDRINUSE: some socket holds the port.
    case inUse
    /// The bind succeeded: nothing holds the port.
    case free
    /// The probe could not be made, e.g. EACCES below 1024 without
    /// CAP_NET_BIND_SERVICE; the reason says why.
    case notProbed(String)
    /// Any other errno.
    case error(errno: Int32, message: String)
    /// Not probed because the first table dump already lists a socket that
    /// holds the port: a probe could only say "in use", which is explained.
    case listed

    /// The outcome as one snake_case word (as the report spells its counts): "in_use", "free", "not_probed", "error", "listed".
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

/// What a TCP connect to loopback on the port said. `accepted`: the handshake completed, something
/// listens; `refused`: ECONNREFUSED (a reset), nothing accepts there.
public enum ConnectOutcome: String, Hashable, Sendable {
    case accepted, refused
    /// No answer within the probe's timeout: something may hold the port without accepting.
    case timedOut = "timed_out"
    /// The probe socket could not be made, or the connect failed with an error other than ECONNREFUSED.
    case failed
    /// UDP, or TCP when the bind probe did not find the port in use.
    case notProbed = "not_probed"
}

/// Both probes of one port, as made during re-verification.
public struct ProbeEvidence: Hashable, Sendable {
    /// What a bind of the wildcard address on the port said.
    public var bind: BindOutcome
    /// What a loopback connect said; `.notProbed` for UDP and for TCP ports the bind found free.
    public var connect: ConnectOutcome
    /// Evidence of one re-probe; `connect` defaults to `.notProbed`.
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
    /// The inode of each row under its key (TIME_WAIT rows have inode 0,
    /// left out), and, for an IPv6 socket that is not V6ONLY, under the IPv4
    /// key it blocks too. Rows, not a set per key: only the few keys of
    /// findings are ever asked for their inodes, and a set for each of tens
    /// of thousands of keys cost more than the rest of building the view.
    public private(set) var keyedInodes: [KeyedInode] = []
    /// Inode of every non-raw row, port 0 included, TIME_WAIT (inode 0) excluded: what an fd walk's socket is
    /// looked up in.
    public private(set) var allInodes: Set<UInt64> = []

    /// One socket inode under one key (see `keyedInodes`).
    public struct KeyedInode: Sendable, Equatable {
        /// The (proto, family, port) the row holds.
        public var key: PortKey
        /// The row's socket inode.
        public var inode: UInt64
    }

    /// Socket inodes per listed key (TIME_WAIT rows have inode 0, left out).
    public var inodesByKey: [PortKey: Set<UInt64>] {
        keyedInodes.reduce(into: [:]) { $0[$1.key, default: []].insert($1.inode) }
    }

    /// The socket inodes of the rows on `key` (for an IPv4 key, also those of IPv6 sockets that block it).
    public func inodes(of key: PortKey) -> Set<UInt64> {
        Set(keyedInodes.lazy.filter { $0.key == key }.map(\.inode))
    }

    /// Equal when they list the same keys and inodes, whatever the order of their rows.
    public static func == (a: TableView, b: TableView) -> Bool {
        a.listed == b.listed && a.dualStackV4 == b.dualStackV4 && a.comparable == b.comparable && a.allInodes == b.allInodes
            && a.inodesByKey == b.inodesByKey
    }

    /// An empty view: lists nothing.
    public init() {}

    /// The view of these table rows; raw sockets are ignored.
    public init(records: [SocketRecord]) {
        for record in records { add(record) }
    }

    /// Adds one table row: its key, inode and, for an IPv6 socket that is not V6ONLY, the IPv4 key it blocks.
    public mutating func add(_ record: SocketRecord) {
        guard record.proto != .raw else { return }
        if record.inode != 0 { allInodes.insert(record.inode) }
        guard record.localPort != 0 else { return }
        let key = PortKey(record.proto, record.family, record.localPort)
        listed.insert(key)
        let transient = record.proto == .tcp && (record.state == .close || record.state == .boundInactive || record.state == .timeWait)
        if !transient { comparable.insert(key) }
        if record.inode != 0 { keyedInodes.append(KeyedInode(key: key, inode: record.inode)) }
        if record.family == .ipv6, record.v6only != true {
            let v4 = PortKey(record.proto, .ipv4, record.localPort)
            dualStackV4.insert(v4)
            if record.inode != 0 { keyedInodes.append(KeyedInode(key: v4, inode: record.inode)) }
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
        merged.keyedInodes += other.keyedInodes
        merged.allInodes.formUnion(other.allInodes)
        return merged
    }
}

/// The socket tables at one moment. A view that could not be read is nil
/// (and a diagnostic says why); the comparison then uses what is there.
public struct TableSnapshot: Sendable, Equatable {
    /// The NETLINK_SOCK_DIAG dump; nil when it could not be read.
    public var netlink: TableView?
    /// The /proc/net/{tcp,udp}{,6} tables; nil when they could not be read.
    public var procNet: TableView?
    /// Inodes listed by every other socket table (unix, netlink, packet,
    /// raw, icmp, udplite, and the tables of other network namespaces), so
    /// that the fd walk's non-TCP/UDP sockets are not taken for hidden ones.
    public var otherInodes: Set<UInt64>

    /// A snapshot of the two views; `otherInodes` defaults to none.
    public init(netlink: TableView?, procNet: TableView?, otherInodes: Set<UInt64> = []) {
        self.netlink = netlink
        self.procNet = procNet
        self.otherInodes = otherInodes
    }

    /// Both snapshots together, view by view (a view read either time is kept): a socket present at either
    /// moment counts as listed.
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
    /// The outcome of every probed key that was not `.free`.
    public var outcomes: [PortKey: BindOutcome]
    /// Which (proto, family) pairs were swept; a key of another pair is notProbed.
    public var pairs: Set<Pair>

    /// A protocol and address family the sweep covered.
    public struct Pair: Hashable, Sendable {
        /// The swept protocol.
        public var proto: TransportProtocol
        /// The swept address family.
        public var family: AddressFamily
        /// The pair of `proto` and `family`.
        public init(_ proto: TransportProtocol, _ family: AddressFamily) {
            self.proto = proto
            self.family = family
        }
    }

    /// A sweep of `pairs`; any key of those pairs missing from `outcomes` was free.
    public init(outcomes: [PortKey: BindOutcome] = [:], pairs: Set<Pair>) {
        self.outcomes = outcomes
        self.pairs = pairs
    }

    /// What the sweep said about `key`: `.free` when nothing is stored, `.notProbed("not swept")` outside `pairs`.
    public func outcome(_ key: PortKey) -> BindOutcome {
        guard pairs.contains(Pair(key.proto, key.family)) else { return .notProbed("not swept") }
        return outcomes[key] ?? .free
    }

    /// Keys whose bind failed with EADDRINUSE, sorted.
    public var inUse: [PortKey] { outcomes.compactMap { $0.value == .inUse ? $0.key : nil }.sorted() }
}

/// Which pids hold each socket inode (from walking /proc/PID/fd).
public struct HeldSockets: Sendable, Equatable {
    /// Socket inode → pids holding a descriptor to it, each pid once.
    public var byInode: [UInt64: [Int32]]
    /// Holdings as the fd walk found them; empty by default.
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
    /// The first pass's bind sweep over every port.
    public var bind: BindSweep
    /// Which processes held which socket inodes, from the fd walk.
    public var held: HeldSockets
    /// Processes that exist (a direct look at /proc/PID succeeds) but that the
    /// /proc directory listing does not show, with a short description.
    public var unlisted: [Int32: String]

    /// The views of the first pass; `comparison` defaults to `tables` (one dump serving both).
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
    /// The NETLINK_SOCK_DIAG dump (what `ss` reads).
    case netlink
    /// The /proc/net/{tcp,udp}{,6} tables (what `netstat` reads).
    case procNet = "proc_net"
    /// A bind(2) of the wildcard address on the port.
    case bindProbe = "bind_probe"
    /// A TCP connect(2) to loopback on the port.
    case connectProbe = "connect_probe"
    /// The walk of every process's /proc/PID/fd.
    case fdWalk = "fd_walk"

    /// The view's name for text output: "netlink", "/proc/net", "bind probe", "connect probe", "fd walk".
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
    /// A key that one table lists and the other does not, or that the bind probe found in use unexplained,
    /// with the technique that would explain it.
    case port(PortKey, HiddenTechnique)
    /// A socket inode held by `pids` that no table lists.
    case inode(UInt64, pids: [Int32])
    /// A pid missing from the /proc listing, with what is known of it.
    case process(Int32, description: String)
}

/// A confirmed discrepancy: it persisted through every re-verification round.
public struct HiddenFinding: Sendable, Hashable {
    /// The likely way the socket or process was hidden.
    public var technique: HiddenTechnique
    /// nil for an inode that no table maps to a port, and for a process.
    public var key: PortKey?
    /// The socket inode: set for inode findings and for port findings an inode was folded into; else nil.
    public var inode: UInt64?
    /// The views that saw it.
    public var seenBy: [HiddenView]
    /// The views that were read and did not see it (a view that could not be read is in neither list).
    public var notSeenBy: [HiddenView]
    /// Processes holding the socket, sorted; for a hidden process, the process itself; may be empty.
    public var ownerPIDs: [Int32]
    /// Port findings are alarms (exit 4). An inode in no table is a notice:
    /// socket families with no table (AF_VSOCK, AF_ALG, MPTCP, ...) look the same.
    public var alarm: Bool
    /// The finding in words for the report: what was seen where, and what it suggests.
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

    /// A finding as re-verification or `HiddenAnalysis.attribute` builds it.
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
