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

    public init(domain: Int32, protocolNumber: Int32, localPort: UInt16, tcpState: SocketState? = nil, pid: Int32) {
        self.domain = domain
        self.protocolNumber = protocolNumber
        self.localPort = localPort
        self.tcpState = tcpState
        self.pid = pid
    }

    public static let inet: Int32 = 2
    public static let inet6: Int32 = 10
    public static let tcp: Int32 = 6
    public static let udp: Int32 = 17

    /// (proto, family, port) of a bound TCP or UDP socket.
    public var key: PortKey? {
        let family: AddressFamily
        switch domain {
        case Self.inet: family = .ipv4
        case Self.inet6: family = .ipv6
        default: return nil
        }
        guard localPort != 0 else { return nil }
        switch protocolNumber {
        case Self.tcp: return PortKey(.tcp, family, localPort)
        case Self.udp: return PortKey(.udp, family, localPort)
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

    /// "AF_INET6 TCP socket", "AF_VSOCK socket", ...
    public var kind: String {
        let families: [Int32: String] = [1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET",
                                         38: "AF_ALG", 40: "AF_VSOCK", 44: "AF_XDP"]
        let protocols: [Int32: String] = [6: "TCP", 17: "UDP", 132: "SCTP", 136: "UDP-Lite", 262: "MPTCP"]
        let family = families[domain] ?? "address family \(domain)"
        guard domain == Self.inet || domain == Self.inet6 else { return family + " socket" }
        return family + " " + (protocols[protocolNumber] ?? "protocol \(protocolNumber)") + " socket"
    }
}
