import PortcullisCore
import PortcullisLinux

/// Host discovery (nmap's ping scan): which targets are up, before any port
/// is probed. Sends only to the target addresses (and, for IPv6, to the
/// all-nodes group ff02::1 of a link whose prefix holds targets, keeping
/// only answers from targets):
///
/// - IPv4 on a directly connected subnet, as root: ARP requests on an
///   AF_PACKET socket per interface (`arp-response`, MAC recorded);
/// - elsewhere, or without root: ICMP echo (a raw socket as root, else the
///   unprivileged ICMP datagram socket when net.ipv4.ping_group_range
///   allows it; `echo-reply`) and TCP connects to ports 80 and 443 (a
///   refusal proves the host up: `conn-refused`; completion: `syn-ack`);
/// - this host's own addresses: `localhost-response`;
/// - the kernel's neighbour table, after probing: the MAC address of each
///   host found up on a link, and hosts the kernel confirmed reachable
///   meanwhile (a TCP connect makes it resolve the address) are up even
///   when the probe itself went unanswered.
///
/// Silent hosts are asked again `retries` times; each round waits as long
/// as the round trips measured so far say (an adaptive timer), and every
/// packet respects the rate cap.
public enum HostDiscovery {
    /// How discovery probes.
    public struct Options: Sendable {
        /// Most packets per second (ARP, ICMP and TCP SYNs together); nil for no cap.
        public var rate: Int?
        /// Retransmissions to a host that has not answered.
        public var retries = 2
        /// TCP ports connected to (nmap's default discovery probes 80 and 443).
        public var tcpPorts: [UInt16] = [80, 443]
        /// First wait for answers when every target is on a directly connected link.
        public var linkWaitMilliseconds = 300
        /// First wait for answers when some target is beyond a router.
        public var beyondWaitMilliseconds = 1000
        /// Floor of the adaptive wait.
        public var minWaitMilliseconds = 100
        /// Ceiling of the adaptive wait.
        public var maxWaitMilliseconds = 2000
        /// Use ARP and raw ICMP (needs root/CAP_NET_RAW); nil decides by the effective uid.
        public var privileged: Bool?
        /// MAC prefix → vendor, for the `vendor` of hosts with a MAC.
        public var vendors = MACVendors()
        /// Called (from the discovery thread) as each host is found up.
        public var onUp: (@Sendable (Int, HostStatus) -> Void)?
        /// The defaults: 2 retries, TCP 80 and 443, waits of 0.3 s (link) or 1 s (beyond) adapting within 0.1-2 s.
        public init() {}
    }

    /// What discovery found: one status per target, in target order, and
    /// what the user should know (privileges missing, sockets refused).
    public struct Outcome: Sendable {
        /// `statuses[i]` is the status of `targets[i]`.
        public var statuses: [HostStatus]
        /// Notices about methods not available.
        public var diagnostics: [Diagnostic]
    }

    /// Discovers which of `targets` are up.
    public static func run(_ targets: [ScanTarget], options: Options = Options()) -> Outcome {
        var session = DiscoverySession(targets: targets.map(\.address), options: options)
        session.run()
        return Outcome(statuses: session.statuses(), diagnostics: session.diagnostics)
    }
}

/// One discovery run: its sockets, what each target has been sent, what answered.
struct DiscoverySession {
    let targets: [IPAddress]
    let options: HostDiscovery.Options
    let privileged: Bool
    var diagnostics: [Diagnostic] = []
    var found: [HostStatus?]
    /// How many targets have no status yet.
    var silent: Int
    var index: [IPAddress: Int] = [:]
    var routes: [DiscoveryRoute] = []
    var links: [Int32: RouteNetlinkWire.Link] = [:]
    /// ARP socket per interface index.
    var arpSockets: [Int32: Int32] = [:]
    var icmp4: Int32 = -1
    var icmp6: Int32 = -1
    /// Per link whose prefix holds IPv6 targets: an ICMPv6 socket bound to
    /// our address there, which sends the echo to ff02::1 (answers come
    /// from the hosts' addresses in that prefix).
    var allNodes: [(interface: Int32, fd: Int32)] = []
    var icmpRaw = false
    let identifier: UInt16
    var epoll: Int32 = -1
    /// When each target was last sent a probe (µs), for round-trip times.
    var lastSent: [Int64]
    var timer: RoundTripTimer
    /// Connects under way: slot → (fd, target, deadline); free slots are reused.
    var connects: [(fd: Int32, target: Int, deadline: Int64)?] = []
    var freeSlots: [Int] = []
    var nextSendTime: Int64 = 0
    let rateInterval: Int64?
    var buffer = [UInt8](repeating: 0, count: 65536)

    static let tokenARP: UInt64 = 1 << 56
    static let tokenICMP4: UInt64 = 2 << 56
    static let tokenICMP6: UInt64 = 3 << 56
    static let tokenConnect: UInt64 = 4 << 56
    static let tokenAllNodes: UInt64 = 5 << 56
    /// ff02::1, every node on the link.
    static let allNodesAddress = IPAddress(v6High: 0xff02_0000_0000_0000, low: 1)

    init(targets: [IPAddress], options: HostDiscovery.Options) {
        self.targets = targets
        self.options = options
        privileged = options.privileged ?? Sys.isRoot
        found = Array(repeating: nil, count: targets.count)
        silent = targets.count
        lastSent = Array(repeating: 0, count: targets.count)
        identifier = UInt16(truncatingIfNeeded: Sys.monotonicMicroseconds() ^ 0x5a5a) | 1
        rateInterval = options.rate.map { max(1, 1_000_000 / Int64(max(1, $0))) }
        timer = RoundTripTimer()
        for (i, address) in targets.enumerated() where index[address] == nil { index[address] = i }
    }

    func statuses() -> [HostStatus] { found.map { $0 ?? HostStatus(up: false, reason: .noResponse) } }

    mutating func run() {
        guard !targets.isEmpty else { return }
        var addresses: [RouteNetlinkWire.SubnetAddress] = []
        do throws(Errno) {
            addresses = try RouteNetlink.interfaceAddresses()
            for link in try RouteNetlink.links() { links[link.index] = link }
        } catch {
            diagnostics.append(Diagnostic(.warning, "host discovery: cannot read this host's interfaces over netlink: \(error)"))
        }
        routes = targets.map { DiscoveryRoute.route(for: $0, addresses: addresses) }
        for (i, route) in routes.enumerated() where route == .local {
            found[i] = HostStatus(up: true, reason: .localhostResponse, rttMicroseconds: 0)
            silent -= 1
            if let status = found[i] { options.onUp?(i, status) }
        }
        let anyBeyond = routes.contains { $0 == .beyond }
        timer = RoundTripTimer(
            initial: Int64(anyBeyond ? options.beyondWaitMilliseconds : options.linkWaitMilliseconds) * 1000,
            minimum: Int64(min(options.minWaitMilliseconds, options.maxWaitMilliseconds)) * 1000,
            maximum: Int64(options.maxWaitMilliseconds) * 1000)
        guard silent > 0 else { return }
        do throws(Errno) { epoll = try Sys.epollCreate() } catch {
            diagnostics.append(Diagnostic(.warning, "host discovery: epoll_create failed (\(error)); every target is taken as up"))
            for i in found.indices where found[i] == nil { found[i] = HostStatus(up: true, reason: .userSet) }
            return
        }
        defer { closeAll() }
        openSockets()
        // A host on a link probed by ICMP or TCP (no ARP socket) must first be
        // resolved by the kernel, which repeats a lost ARP request only after
        // its retransmission time (1 s): a round shorter than that cannot retry.
        if targets.indices.contains(where: { i in
            guard found[i] == nil, case .link = routes[i] else { return false }
            return usesIP(i)
        }) {
            let floor = Int64(Self.kernelNeighbourRetransmitMilliseconds) * 1000
            timer = RoundTripTimer(
                initial: max(timer.initial, floor), minimum: max(timer.minimum, floor), maximum: max(timer.maximum, floor))
        }
        for round in 0...max(0, options.retries) {
            var sentAny = false
            for link in allNodes
            where routes.indices.contains(where: {
                found[$0] == nil && routes[$0].interfaceIndex == link.interface && targets[$0].kind == .v6
            }) {
                paceOnePacket()
                let echo = ICMPEcho(
                    ipv6: true, isReply: false, identifier: identifier, sequence: UInt16(round), payload: Array("portcullis".utf8))
                let sent = Sys.monotonicMicroseconds()
                for i in targets.indices where found[i] == nil && routes[i].interfaceIndex == link.interface && targets[i].kind == .v6 {
                    lastSent[i] = sent
                }
                try? Sys.sendDatagram(
                    link.fd, echo.encoded, to: InetEndpoint(Self.allNodesAddress, port: 0, scopeID: UInt32(bitPattern: link.interface)))
            }
            for i in targets.indices where found[i] == nil {
                send(to: i, round: round)
                sentAny = true
            }
            guard sentAny else { break }
            // Answers to this round: wait the adaptive time after its last
            // packet (recomputed as answers refine the round-trip estimate).
            let lastPacket = Sys.monotonicMicroseconds()
            while silent > 0 {
                let roundEnd = lastPacket + timer.timeout
                if Sys.monotonicMicroseconds() >= roundEnd { break }
                pump(until: roundEnd)
            }
            expireConnects(all: true)
        }
        readNeighbours()
    }

    // MARK: sockets

    mutating func openSockets() {
        var needsARP: Set<Int32> = []
        var needsICMP4 = false
        var needsICMP6 = false
        for (i, route) in routes.enumerated() where found[i] == nil {
            switch route {
            case .link(let interface, _) where targets[i].kind == .v4 && privileged && links[interface]?.canARP == true:
                needsARP.insert(interface)
            default:
                if targets[i].kind == .v4 { needsICMP4 = true } else { needsICMP6 = true }
            }
        }
        for interface in needsARP.sorted() {
            do throws(Errno) {
                let fd = try Sys.arpSocket(interfaceIndex: interface)
                arpSockets[interface] = fd
                try Sys.epollAdd(epoll, fd, events: 1, token: Self.tokenARP | UInt64(UInt32(bitPattern: interface)))
            } catch {
                let name = links[interface]?.name ?? "interface \(interface)"
                diagnostics.append(Diagnostic(.notice, "host discovery: no ARP on \(name) (\(error)); ICMP echo and TCP probes used there"))
            }
        }
        // Targets on a link without an ARP socket fall back to ICMP and TCP.
        if routes.indices.contains(where: { i in found[i] == nil && usesIP(i) && targets[i].kind == .v4 }) { needsICMP4 = true }
        if needsICMP4 { icmp4 = openICMP(ipv6: false, token: Self.tokenICMP4) }
        if needsICMP6 { icmp6 = openICMP(ipv6: true, token: Self.tokenICMP6) }
        if icmp6 >= 0 { openAllNodesSockets() }
        if !privileged {
            diagnostics.append(
                Diagnostic(
                    .notice,
                    "host discovery without root: ARP requests and raw ICMP need root (CAP_NET_RAW); used "
                        + (icmp4 >= 0 || icmp6 >= 0 ? "ICMP datagram sockets, " : "")
                        + "TCP connects to ports \(options.tcpPorts.map(String.init).joined(separator: " and ")) and the neighbour table"))
        }
    }

    mutating func openICMP(ipv6: Bool, token: UInt64) -> Int32 {
        let kinds = privileged ? [true, false] : [false]
        var failure: Errno?
        for raw in kinds {
            do throws(Errno) {
                let fd = try Sys.icmpSocket(ipv6: ipv6, raw: raw)
                try Sys.epollAdd(epoll, fd, events: 1, token: token)
                icmpRaw = raw
                return fd
            } catch {
                failure = error
            }
        }
        let why =
            failure == .permissionDenied
            ? "net.ipv\(ipv6 ? "6" : "4").ping_group_range does not include this user's groups"
            : failure.map { "\($0)" } ?? "no socket"
        diagnostics.append(Diagnostic(.notice, "host discovery: no ICMP\(ipv6 ? "v6" : "") echo (\(why)); TCP probes only"))
        return -1
    }

    /// One ICMPv6 socket per link whose prefix holds IPv6 targets, bound to
    /// our address in that prefix: its echo to ff02::1 finds every host of
    /// the link at once (only answers from targets are kept).
    mutating func openAllNodesSockets() {
        var sources: [Int32: IPAddress] = [:]
        for (i, route) in routes.enumerated() where found[i] == nil && targets[i].kind == .v6 {
            if case .link(let interface, let source) = route, sources[interface] == nil { sources[interface] = source }
        }
        for (interface, source) in sources.sorted(by: { $0.key < $1.key }) {
            do throws(Errno) {
                let fd = try Sys.icmpSocket(ipv6: true, raw: icmpRaw)
                do throws(Errno) {
                    try Sys.bindLocal(fd, to: InetEndpoint(source, port: 0))
                    try Sys.epollAdd(epoll, fd, events: 1, token: Self.tokenAllNodes | UInt64(allNodes.count))
                } catch {
                    Sys.close(fd)
                    throw error
                }
                allNodes.append((interface, fd))
            } catch {
                let name = links[interface]?.name ?? "interface \(interface)"
                diagnostics.append(
                    Diagnostic(.notice, "host discovery: no ICMPv6 echo to ff02::1 on \(name) (\(error)); each target is asked"))
            }
        }
    }

    /// Whether target `i` is probed with ICMP and TCP (not ARP).
    func usesIP(_ i: Int) -> Bool {
        if case .link(let interface, _) = routes[i], targets[i].kind == .v4, arpSockets[interface] != nil { return false }
        return routes[i] != .local
    }

    mutating func closeAll() {
        for fd in arpSockets.values { Sys.close(fd) }
        if icmp4 >= 0 { Sys.close(icmp4) }
        if icmp6 >= 0 { Sys.close(icmp6) }
        for link in allNodes { Sys.close(link.fd) }
        for entry in connects { if let entry { Sys.close(entry.fd) } }
        connects = []
        if epoll >= 0 { Sys.close(epoll) }
    }

    // MARK: sending

    /// Waits (handling answers) until the rate cap allows one more packet.
    mutating func paceOnePacket() {
        guard let interval = rateInterval else {
            pump(until: 0)
            return
        }
        while true {
            let now = Sys.monotonicMicroseconds()
            if nextSendTime <= now {
                nextSendTime = max(nextSendTime, now - interval * 8) + interval
                pump(until: 0)
                return
            }
            pump(until: nextSendTime)
        }
    }

    mutating func send(to i: Int, round: Int) {
        let address = targets[i]
        if case .link(let interface, let source) = routes[i], address.kind == .v4, let fd = arpSockets[interface],
            let mac = links[interface].flatMap({ MACAddress(bytes: $0.hardwareAddress) })
        {
            paceOnePacket()
            lastSent[i] = Sys.monotonicMicroseconds()
            try? Sys.sendARP(fd, interfaceIndex: interface, to: .broadcast, ARPPacket.whoHas(address, from: mac, source).encoded)
            return
        }
        let icmp = address.kind == .v4 ? icmp4 : icmp6
        if icmp >= 0 {
            paceOnePacket()
            lastSent[i] = Sys.monotonicMicroseconds()
            let echo = ICMPEcho(
                ipv6: address.kind == .v6, isReply: false, identifier: identifier, sequence: UInt16(round),
                payload: Array("portcullis".utf8))
            try? Sys.sendDatagram(icmp, echo.encoded, to: InetEndpoint(address, port: 0))
        }
        for port in options.tcpPorts where found[i] == nil {
            paceOnePacket()
            lastSent[i] = Sys.monotonicMicroseconds()
            startConnect(i, port: port)
        }
    }

    mutating func startConnect(_ i: Int, port: UInt16) {
        // Keep well inside the descriptor limit: wait for connects to end.
        while connects.count - freeSlots.count >= Self.connectLimit {
            expireConnects(all: false)
            if connects.count - freeSlots.count < Self.connectLimit { break }
            let earliest = connects.compactMap { $0?.deadline }.min() ?? Sys.monotonicMicroseconds()
            pump(until: earliest)
        }
        let fd: Int32
        do throws(Errno) { fd = try ScanSys.socket(for: targets[i], udp: false) } catch { return }
        ScanSys.abortOnClose(fd)
        do throws(Errno) {
            if try ScanSys.startConnect(fd, to: targets[i], port: port) {
                Sys.close(fd)
                answered(i, reason: .synAck)
                return
            }
        } catch {
            Sys.close(fd)
            if error == .connectionRefused { answered(i, reason: .connRefused) }
            return
        }
        let slot = freeSlots.popLast() ?? connects.count
        if slot == connects.count { connects.append(nil) }
        connects[slot] = (fd, i, Sys.monotonicMicroseconds() + timer.timeout)
        do throws(Errno) {
            try Sys.epollAdd(epoll, fd, events: 4, token: Self.tokenConnect | UInt64(slot))
        } catch {
            endConnect(slot)
        }
    }

    /// The kernel's default neighbour retransmission time (net.ipv4.neigh.default.retrans_time_ms).
    static let kernelNeighbourRetransmitMilliseconds = 1000

    static let connectLimit = max(64, min(4096, Sys.raiseDescriptorLimit() - 256))

    mutating func endConnect(_ slot: Int) {
        guard let entry = connects[slot] else { return }
        Sys.close(entry.fd)
        connects[slot] = nil
        freeSlots.append(slot)
    }

    mutating func expireConnects(all: Bool) {
        let now = Sys.monotonicMicroseconds()
        for slot in connects.indices {
            guard let entry = connects[slot] else { continue }
            if all || entry.deadline <= now || found[entry.target] != nil { endConnect(slot) }
        }
    }

    // MARK: answers

    mutating func answered(_ i: Int, reason: HostDiscoveryReason, mac: MACAddress? = nil) {
        guard found[i] == nil else { return }
        let rtt = max(0, Sys.monotonicMicroseconds() - lastSent[i])
        // An answer that waited for the kernel to resolve an address (a lost
        // ARP or neighbour solicitation) says little about the round trip:
        // no sample raises the wait above the current one.
        timer.record(min(rtt, timer.timeout))
        silent -= 1
        found[i] = HostStatus(
            up: true, reason: reason, macAddress: mac?.description, vendor: mac.flatMap { options.vendors.vendor(of: $0) },
            rttMicroseconds: rtt)
        if let status = found[i] { options.onUp?(i, status) }
    }

    /// Handles whatever is ready, waiting up to `deadline` (µs, monotonic; 0 = do not wait).
    mutating func pump(until deadline: Int64) {
        var tokens = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        let wait = deadline == 0 ? 0 : Int32(clamping: max(0, (deadline - Sys.monotonicMicroseconds() + 999) / 1000))
        guard let count = try? Sys.epollWait(epoll, tokens: &tokens, events: &events, timeoutMilliseconds: wait) else { return }
        for n in 0..<count {
            let token = tokens[n]
            switch token & (0xff << 56) {
            case Self.tokenARP: readARP(Int32(bitPattern: UInt32(truncatingIfNeeded: token)))
            case Self.tokenICMP4: readICMP(icmp4, ipv6: false)
            case Self.tokenICMP6: readICMP(icmp6, ipv6: true)
            case Self.tokenAllNodes:
                let n = Int(token & 0xffff_ffff)
                if n < allNodes.count { readICMP(allNodes[n].fd, ipv6: true) }
            case Self.tokenConnect: connectEnded(Int(token & 0xffff_ffff))
            default: break
            }
        }
    }

    mutating func readARP(_ interface: Int32) {
        guard let fd = arpSockets[interface] else { return }
        for _ in 0..<1024 {
            guard let frame = try? Sys.receiveFrame(fd, into: &buffer) else { return }
            guard frame.incoming, let packet = ARPPacket.decode(Array(buffer[0..<frame.count])), packet.operation == ARPPacket.reply,
                let i = index[packet.senderIP], case .link(let linkIndex, _) = routes[i], linkIndex == interface
            else { continue }
            answered(i, reason: .arpResponse, mac: packet.senderMAC)
        }
    }

    mutating func readICMP(_ fd: Int32, ipv6: Bool) {
        guard fd >= 0 else { return }
        for _ in 0..<1024 {
            let received: (count: Int, sender: InetEndpoint?)
            do throws(Errno) { received = try Sys.receiveDatagram(fd, into: &buffer) } catch {
                if error.meansWouldBlock { return }
                continue  // a queued ICMP error (host unreachable): read on
            }
            guard let sender = received.sender?.address, let i = index[sender] else { continue }
            let bytes = Array(buffer[0..<received.count])
            let echo: ICMPEcho?
            if !ipv6 && icmpRaw {
                echo = ICMPEcho.decodeIPv4Packet(bytes).flatMap { $0.source == sender ? $0.echo : nil }
            } else {
                echo = ICMPEcho.decode(bytes, ipv6: ipv6)
            }
            // A datagram socket's kernel picks the identifier and only delivers our replies.
            guard let echo, echo.isReply, !icmpRaw || echo.identifier == identifier else { continue }
            answered(i, reason: .echoReply)
        }
    }

    mutating func connectEnded(_ slot: Int) {
        guard slot < connects.count, let entry = connects[slot] else { return }
        let error = ScanSys.pendingError(entry.fd)
        endConnect(slot)
        if error == 0 {
            answered(entry.target, reason: .synAck)
        } else if error == Errno.connectionRefused.rawValue {
            answered(entry.target, reason: .connRefused)
        }
    }

    // MARK: neighbour table

    /// After probing: the MAC of every host found up on a link; and a
    /// neighbour the kernel confirmed within its reachable time (about 30 s;
    /// a TCP connect makes it resolve the address) is up, `arp-response` or
    /// `nd-response`, even when the probe itself went unanswered.
    mutating func readNeighbours() {
        guard let neighbours = try? RouteNetlink.neighbours() else { return }
        for neighbour in neighbours {
            guard let i = index[neighbour.address], case .link(let interface, _) = routes[i], neighbour.interfaceIndex == interface,
                let mac = MACAddress(bytes: neighbour.hardwareAddress)
            else { continue }
            if var status = found[i] {
                if status.up && status.macAddress == nil {
                    status.macAddress = mac.description
                    status.vendor = options.vendors.vendor(of: mac)
                    found[i] = status
                }
            } else if neighbour.isReachable {
                silent -= 1
                found[i] = HostStatus(
                    up: true, reason: targets[i].kind == .v4 ? .arpResponse : .ndResponse, macAddress: mac.description,
                    vendor: options.vendors.vendor(of: mac))
                if let status = found[i] { options.onUp?(i, status) }
            }
        }
    }
}
