/// What a socket says about itself when asked through a duplicate of a
/// descriptor that holds it (pidfd_getfd, then getsockopt and getsockname).
/// This is how the port of a socket that no table lists is found: a rootkit
/// can filter what the tables say, but the socket still knows its own port.
public struct SocketIdentity: Sendable, Hashable {
    /// SO_DOMAIN: AF_INET (2), AF_INET6 (10), AF_VSOCK (40), ...
    public var domain: Int32
    /// SO_PROTOCOL: IPPROTO_TCP (6), IPPROTO_UDP (17), IPPROTO_MPTCP (262), ...
    public var protocolNumber: Int32
    /// getsockname's port; 0 when unbound or not an inet socket.
    public var localPort: UInt16
    /// TCP_INFO's state, for TCP sockets.
    public var tcpState: SocketState?
    /// A process holding it (the one whose descriptor was duplicated).
    public var pid: Int32

    /// An identity as read from the socket; `tcpState` is nil for anything but TCP.
    public init(domain: Int32, protocolNumber: Int32, localPort: UInt16, tcpState: SocketState? = nil, pid: Int32) {
        self.domain = domain
        self.protocolNumber = protocolNumber
        self.localPort = localPort
        self.tcpState = tcpState
        self.pid = pid
    }

    /// SO_DOMAIN, named where portcullis knows the name.
    public var socketDomain: SocketDomain { SocketDomain(number: domain) }

    /// SO_PROTOCOL of an AF_INET or AF_INET6 socket; nil for other domains,
    /// whose protocol numbers mean something else.
    public var inetProtocol: InetProtocol? { socketDomain.isInet ? InetProtocol(number: protocolNumber) : nil }

    /// (proto, family, port) of a bound TCP or UDP socket.
    public var key: PortKey? {
        let family: AddressFamily
        switch socketDomain {
        case .inet: family = .ipv4
        case .inet6: family = .ipv6
        default: return nil
        }
        guard localPort != 0 else { return nil }
        switch inetProtocol {
        case .tcp: return PortKey(.tcp, family, localPort)
        case .udp: return PortKey(.udp, family, localPort)
        default: return nil
        }
    }

    /// Whether an honest kernel lists this socket in the TCP/UDP tables: a
    /// bound UDP socket always is; a TCP socket unless it is CLOSE (never
    /// bound, or unhashed after a failed or reset connection while the
    /// program still holds the descriptor).
    public var belongsInTables: Bool {
        guard let key else { return false }
        return key.proto == .udp || (tcpState != nil && tcpState != .close)
    }

    /// What sort of socket this is: "AF_INET6 TCP socket", "AF_VSOCK socket", ...
    public var kind: SocketKind { SocketKind(domain: socketDomain, inetProtocol: inetProtocol) }
}

/// What sort of socket a descriptor holds, for explanations. Its
/// description is the text: "AF_INET6 TCP socket", "AF_VSOCK socket".
public struct SocketKind: Sendable, Hashable, CustomStringConvertible {
    /// The socket's address family (SO_DOMAIN).
    public var domain: SocketDomain
    /// Set for AF_INET and AF_INET6 sockets only.
    public var inetProtocol: InetProtocol?

    /// - Parameter inetProtocol: nil unless `domain` is AF_INET or AF_INET6.
    public init(domain: SocketDomain, inetProtocol: InetProtocol?) {
        self.domain = domain
        self.inetProtocol = inetProtocol
    }

    /// "AF_INET6 TCP socket", "AF_VSOCK socket".
    public var description: String {
        guard let inetProtocol else { return "\(domain.name) socket" }
        return "\(domain.name) \(inetProtocol.name) socket"
    }
}

/// An address family as SO_DOMAIN reports it. The kernel may return any
/// number, so one without a name here is kept as `.other`; make values with
/// `init(number:)`, which never produces `.other` for a named number.
public enum SocketDomain: Sendable, Hashable {
    /// AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_ALG, AF_VSOCK, AF_XDP.
    case unix, inet, inet6, netlink, packet, alg, vsock, xdp
    /// A number without a name here, as the kernel returned it.
    case other(Int32)

    /// The named domains, each once: `init(number:)` searches them.
    public static let named: [SocketDomain] = [.unix, .inet, .inet6, .netlink, .packet, .alg, .vsock, .xdp]

    /// The domain SO_DOMAIN's `number` names.
    public init(number: Int32) {
        self = Self.named.first { $0.number == number } ?? .other(number)
    }

    /// The AF_* number (include/linux/socket.h).
    public var number: Int32 {
        switch self {
        case .unix: return 1
        case .inet: return 2
        case .inet6: return 10
        case .netlink: return 16
        case .packet: return 17
        case .alg: return 38
        case .vsock: return 40
        case .xdp: return 44
        case .other(let number): return number
        }
    }

    /// "AF_INET6", or "address family 99" for one without a name here.
    public var name: String {
        switch self {
        case .unix: return "AF_UNIX"
        case .inet: return "AF_INET"
        case .inet6: return "AF_INET6"
        case .netlink: return "AF_NETLINK"
        case .packet: return "AF_PACKET"
        case .alg: return "AF_ALG"
        case .vsock: return "AF_VSOCK"
        case .xdp: return "AF_XDP"
        case .other(let number): return "address family \(number)"
        }
    }

    /// AF_INET or AF_INET6: the socket has an IP protocol and a port.
    public var isInet: Bool { self == .inet || self == .inet6 }
}

/// The protocol of an AF_INET or AF_INET6 socket as SO_PROTOCOL reports
/// it; as with `SocketDomain`, an unnamed number is kept as `.other`.
public enum InetProtocol: Sendable, Hashable {
    /// IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_UDPLITE, IPPROTO_MPTCP.
    case tcp, udp, sctp, udpLite, mptcp
    /// A number without a name here, as the kernel returned it.
    case other(Int32)

    /// The named protocols, each once: `init(number:)` searches them.
    public static let named: [InetProtocol] = [.tcp, .udp, .sctp, .udpLite, .mptcp]

    /// The protocol SO_PROTOCOL's `number` names.
    public init(number: Int32) {
        self = Self.named.first { $0.number == number } ?? .other(number)
    }

    /// The IPPROTO_* number.
    public var number: Int32 {
        switch self {
        case .tcp: return 6
        case .udp: return 17
        case .sctp: return 132
        case .udpLite: return 136
        case .mptcp: return 262
        case .other(let number): return number
        }
    }

    /// "TCP", or "protocol 99" for one without a name here.
    public var name: String {
        switch self {
        case .tcp: return "TCP"
        case .udp: return "UDP"
        case .sctp: return "SCTP"
        case .udpLite: return "UDP-Lite"
        case .mptcp: return "MPTCP"
        case .other(let number): return "protocol \(number)"
        }
    }
}
