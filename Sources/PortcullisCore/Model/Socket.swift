/// Transport protocol of a socket, as `ss -t/-u/-w` distinguish them.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, Codable {
    case tcp, udp, raw
}

public enum AddressFamily: String, Sendable, Hashable, CaseIterable, Codable {
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
    case established = 1
    case synSent, synReceived, finWait1, finWait2, timeWait, close
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
    public var proto: TransportProtocol
    public var family: AddressFamily
    public var localAddress: IPAddress
    public var localPort: UInt16
    public var remoteAddress: IPAddress
    public var remotePort: UInt16
    /// Raw kernel state number; `SocketState(rawValue:)` names it.
    public var stateCode: UInt8
    public var inode: UInt64
    public var uid: UInt32
    /// `IPV6_V6ONLY`, from INET_DIAG_SKV6ONLY; nil when the source cannot say
    /// (the /proc/net tables do not carry it) or for IPv4 sockets.
    public var v6only: Bool?
    /// Bound interface index (SO_BINDTODEVICE), 0 when unbound.
    public var interfaceIndex: UInt32
    /// For RAW sockets the kernel reports the IP protocol number in the port
    /// field; kept here so the port fields stay meaningful.
    public var rawProtocol: UInt8?
    public var receiveQueue: UInt32
    public var sendQueue: UInt32

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

    public var state: SocketState? { SocketState(rawValue: stateCode) }

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
    public var protocols: Set<TransportProtocol>
    public var families: Set<AddressFamily>
    /// true: only listening sockets (filtered in the kernel); false: every state.
    public var listeningOnly: Bool

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
