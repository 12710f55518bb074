/// Transport protocol of a socket, as `ss -t/-u/-w` distinguish them.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, Codable {
    /// TCP, UDP and RAW IP sockets; RAW sockets report the IP protocol number in the port field. The raw values are the output spelling.
    case tcp, udp, raw
}

/// The IP version of a socket: AF_INET (`ipv4`) or AF_INET6 (`ipv6`); the raw values are the output spelling.
public enum AddressFamily: String, Sendable, Hashable, CaseIterable, Codable {
    /// AF_INET and AF_INET6 (an AF_INET6 socket may also carry IPv4-mapped addresses).
    case ipv4, ipv6

    /// The family of an address of this kind (an IPv4-mapped IPv6 address is IPv6).
    public init(_ kind: IPAddress.Kind) {
        switch kind {
        case .v4: self = .ipv4
        case .v6: self = .ipv6
        }
    }
}

/// Kernel socket state (`enum tcp_state` in include/net/tcp_states.h). UDP
/// and RAW sockets reuse the same numbers: 7 (CLOSE) means unconnected and
/// 1 (ESTABLISHED) means connected.
public enum SocketState: UInt8, Sendable, Hashable, CaseIterable {
    /// TCP_ESTABLISHED (1); for UDP and RAW, connected to one peer.
    case established = 1
    /// TCP_SYN_SENT (2) to TCP_CLOSE (7), in kernel order; for UDP and RAW, `close` means unconnected.
    case synSent, synReceived, finWait1, finWait2, timeWait, close
    /// TCP_CLOSE_WAIT (8) to TCP_BOUND_INACTIVE (13), in kernel order; `listen` is 10.
    case closeWait, lastAck, listen, closing, newSynReceived, boundInactive

    /// Bitmask of states for inet_diag's `idiag_states`.
    public var mask: UInt32 { 1 << UInt32(rawValue) }

    /// Stable snake_case name used in every output format.
    public func name(for proto: TransportProtocol) -> String {
        switch self {
        case .established: return proto == .tcp ? "established" : "connected"
        case .synSent: return "syn_sent"
        case .synReceived: return "syn_recv"
        case .finWait1: return "fin_wait1"
        case .finWait2: return "fin_wait2"
        case .timeWait: return "time_wait"
        case .close: return proto == .tcp ? "close" : "unconnected"
        case .closeWait: return "close_wait"
        case .lastAck: return "last_ack"
        case .listen: return "listen"
        case .closing: return "closing"
        case .newSynReceived: return "new_syn_recv"
        case .boundInactive: return "bound_inactive"
        }
    }
}

/// One socket as the kernel reports it, before any enrichment.
public struct SocketRecord: Hashable, Sendable {
    /// TCP, UDP or RAW.
    public var proto: TransportProtocol
    /// AF_INET or AF_INET6; an AF_INET6 socket may hold IPv4-mapped addresses.
    public var family: AddressFamily
    /// Bound local address; 0.0.0.0 or `::` for a wildcard bind.
    public var localAddress: IPAddress
    /// Local port in host byte order; for a RAW socket, the IP protocol number the kernel reports in this field.
    public var localPort: UInt16
    /// Peer address; 0.0.0.0 or `::` when not connected, as for every listener.
    public var remoteAddress: IPAddress
    /// Peer port in host byte order; 0 when not connected.
    public var remotePort: UInt16
    /// Raw kernel state number; `SocketState(rawValue:)` names it.
    public var stateCode: UInt8
    /// Inode of the socket's file (the `socket:[INODE]` of /proc/PID/fd links); 0 when no file holds it (TIME_WAIT, SYN_RECV, orphaned).
    public var inode: UInt64
    /// uid of the socket's creator, as the kernel records it.
    public var uid: UInt32
    /// `IPV6_V6ONLY`, from INET_DIAG_SKV6ONLY; nil when the source cannot say
    /// (the /proc/net tables do not carry it) or for IPv4 sockets.
    public var v6only: Bool?
    /// Bound interface index (SO_BINDTODEVICE), 0 when unbound.
    public var interfaceIndex: UInt32
    /// For RAW sockets the kernel reports the IP protocol number in the port
    /// field; kept here so the port fields stay meaningful.
    public var rawProtocol: UInt8?
    /// Receive queue (idiag_rqueue, /proc's rx_queue): bytes waiting to be read; for a TCP listener, connections waiting to be accepted.
    public var receiveQueue: UInt32
    /// Send queue (idiag_wqueue, /proc's tx_queue): bytes not yet acknowledged; for a TCP listener read over netlink, its backlog limit.
    public var sendQueue: UInt32
    /// The nsfs inode of the network namespace whose table listed the socket; 0 when not known (a copied /proc).
    public var netns: UInt64 = 0
    /// The kernel's socket cookie (`idiag_cookie`, SO_COOKIE): unique for
    /// the life of the network namespace's sockets, never reused, so it names
    /// one socket where a 4-tuple may name another later. Netlink reports it;
    /// nil from the /proc tables, which do not carry it.
    public var cookie: UInt64? = nil

    /// Builds a record from the kernel's fields; the defaults stand for what a source did not report (V6ONLY unknown, no bound device).
    public init(
        proto: TransportProtocol, family: AddressFamily,
        localAddress: IPAddress, localPort: UInt16,
        remoteAddress: IPAddress, remotePort: UInt16,
        stateCode: UInt8, inode: UInt64, uid: UInt32,
        v6only: Bool? = nil, interfaceIndex: UInt32 = 0, rawProtocol: UInt8? = nil,
        receiveQueue: UInt32 = 0, sendQueue: UInt32 = 0
    ) {
        self.proto = proto
        self.family = family
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.stateCode = stateCode
        self.inode = inode
        self.uid = uid
        self.v6only = v6only
        self.interfaceIndex = interfaceIndex
        self.rawProtocol = rawProtocol
        self.receiveQueue = receiveQueue
        self.sendQueue = sendQueue
    }

    /// `stateCode` named; nil for a number this version does not know.
    public var state: SocketState? { SocketState(rawValue: stateCode) }

    /// The state's output name for this protocol (`listen`, `connected`, `unconnected`, ...), or `unknown_N`.
    public var stateName: String {
        state?.name(for: proto) ?? "unknown_\(stateCode)"
    }

    /// Listening in the administrator's sense: TCP in LISTEN; UDP and RAW
    /// bound and unconnected (state CLOSE), which is how `ss -l` sees them.
    public var isListening: Bool {
        switch proto {
        case .tcp: return stateCode == SocketState.listen.rawValue
        case .udp, .raw: return stateCode == SocketState.close.rawValue
        }
    }
}

/// Which sockets to ask the kernel for.
public struct SocketQuery: Sendable, Hashable {
    /// Protocols to dump; all three by default.
    public var protocols: Set<TransportProtocol>
    /// Address families to dump; both by default.
    public var families: Set<AddressFamily>
    /// true: only listening sockets (filtered in the kernel); false: every state.
    public var listeningOnly: Bool

    /// Builds a query; the default asks for listening sockets of every protocol and family.
    public init(
        protocols: Set<TransportProtocol> = Set(TransportProtocol.allCases),
        families: Set<AddressFamily> = Set(AddressFamily.allCases),
        listeningOnly: Bool = true
    ) {
        self.protocols = protocols
        self.families = families
        self.listeningOnly = listeningOnly
    }

    /// The inet_diag state bitmask for one protocol.
    public func stateMask(for proto: TransportProtocol) -> UInt32 {
        guard listeningOnly else { return 0xFFFF_FFFF }
        switch proto {
        case .tcp: return SocketState.listen.mask
        case .udp, .raw: return SocketState.close.mask
        }
    }
}
