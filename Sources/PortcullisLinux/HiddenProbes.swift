import Dispatch
import PortcullisCore
import Synchronization

/// Bind probes: a port is in use when bind(2) of the wildcard address on it
/// fails with EADDRINUSE — whatever the socket tables say. No SO_REUSEADDR
/// or SO_REUSEPORT (either would let the probe share a port and miss its
/// holder); IPv6 probes set IPV6_V6ONLY so an IPv4 listener does not show up
/// as IPv6. One socket per probe, closed at once, so the port is held for
/// microseconds and RLIMIT_NOFILE never matters.
public enum BindProber {
    /// Probes one port.
    public static func probe(_ key: PortKey) -> BindOutcome {
        var sockets = ProbeSockets()
        defer { sockets.closeAll() }
        return probe(key.port, key.proto, key.family == .ipv6 ? .ipv6Only : .ipv4, &sockets)
    }

    /// Which socket a probe binds: IPv4 0.0.0.0, IPv6 :: with IPV6_V6ONLY,
    /// or :: without it, which collides with sockets of either family.
    enum Mode: Int {
        case ipv4 = 0
        case ipv6Only = 1
        case dualStack = 2
    }

    /// Unbound probe sockets kept for the next probe: a bind that fails
    /// leaves its socket unbound and reusable, which saves a socket() and a
    /// close() per port in use. A bind that succeeds closes its socket at once.
    struct ProbeSockets {
        private var cached: [Int32] = [-1, -1, -1, -1, -1, -1]

        mutating func take(_ proto: TransportProtocol, _ mode: Mode) throws(Errno) -> Int32 {
            let slot = (proto == .udp ? 3 : 0) + mode.rawValue
            if cached[slot] >= 0 {
                defer { cached[slot] = -1 }
                return cached[slot]
            }
            let fd = try Sys.probeSocket(ipv6: mode != .ipv4, udp: proto == .udp)
            // A new IPv6 socket is dual-stack unless net.ipv6.bindv6only is set.
            if mode == .ipv6Only || (mode == .dualStack && Sys.ipv6SocketsDefaultToV6Only) {
                do { try Sys.probeSetV6Only(fd, mode == .ipv6Only) } catch {
                    Sys.close(fd)
                    throw error
                }
            }
            return fd
        }

        mutating func keep(_ fd: Int32, _ proto: TransportProtocol, _ mode: Mode) {
            let slot = (proto == .udp ? 3 : 0) + mode.rawValue
            if cached[slot] >= 0 { Sys.close(cached[slot]) }
            cached[slot] = fd
        }

        mutating func closeAll() {
            for fd in cached where fd >= 0 { Sys.close(fd) }
            cached = [-1, -1, -1, -1, -1, -1]
        }
    }

    static func probe(_ port: UInt16, _ proto: TransportProtocol, _ mode: Mode, _ sockets: inout ProbeSockets) -> BindOutcome {
        let fd: Int32
        do { fd = try sockets.take(proto, mode) } catch {
            return .error(errno: error.rawValue, message: "socket: \(error)")
        }
        do { try Sys.probeBindWildcard(fd, ipv6: mode != .ipv4, port: port) } catch {
            sockets.keep(fd, proto, mode)
            return outcome(ofBindError: error)
        }
        Sys.close(fd)
        return .free
    }

    static func outcome(ofBindError error: Errno) -> BindOutcome {
        switch error {
        case .addressInUse: return .inUse
        case .permissionDenied: return .notProbed("EACCES: binding below ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE")
        default: return .error(errno: error.rawValue, message: "bind: \(error)")
        }
    }

    /// Whether a probe in `mode` can go through a `BindRing`: only when
    /// it needs no socket option (IPV6_V6ONLY), which the ring does not set.
    static func batchable(_ mode: Mode) -> Bool {
        mode == .ipv4 || (mode == .dualStack && !Sys.ipv6SocketsDefaultToV6Only)
    }

    /// Probes every port in `ports` for each pair, spread over `parallelism`
    /// threads in chunks. When both families are swept, each port is first
    /// probed once with a dual-stack socket (:: without IPV6_V6ONLY), which
    /// collides with any IPv4 or IPv6 socket on the port; only ports it finds
    /// in use get the IPv4 and the IPv6-only probe, to say which family
    /// holds them. That halves the work on a host where most ports are free.
    /// Ports in `knownPorts(proto)` (held by a socket a table lists) are not
    /// probed in that family: the probe could only say "in use", which the
    /// table already explains; they are recorded as `.listed`. It is asked
    /// for when the protocol's first port is about to be probed, once per
    /// thread, and may block. UDP is swept first, so the caller can still
    /// read the TCP tables while UDP is probed: a TCP table never lists a
    /// UDP probe socket.
    /// `alongside`: other work of the caller, taken by the sweep's threads
    /// (each item by one) before they start probing.
    /// A family the kernel lacks (no IPv6) is skipped with a diagnostic
    /// instead of 65,535 errors. `progress(done, total)` is called from
    /// worker threads. `parallelism` defaults to the online CPUs.
    /// With `batching`, probes that need no socket option go through a
    /// `BindRing` (io_uring) where the kernel allows it: same probes, a
    /// batch per kernel entry; `false` (tests) uses system calls only.
    public static func sweep(
        protocols: [TransportProtocol] = [.tcp, .udp], families: [AddressFamily] = AddressFamily.allCases,
        ports: ClosedRange<UInt16> = 1...65535, knownPorts: @escaping @Sendable (TransportProtocol) -> Set<PortKey> = { _ in [] },
        parallelism: Int? = nil, progress: (@Sendable (Int, Int) -> Void)? = nil, alongside: [@Sendable () -> Void] = [],
        batching: Bool = true
    ) -> (BindSweep, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var wanted: [BindSweep.Pair] = []
        for proto in protocols where proto != .raw {
            for family in families {
                do {
                    let fd = try Sys.probeSocket(ipv6: family == .ipv6, udp: proto == .udp)
                    Sys.close(fd)
                    wanted.append(.init(proto, family))
                } catch {
                    diagnostics.append(
                        Diagnostic(.notice, "\(proto.rawValue)/\(family.rawValue) not probed: cannot open a socket: \(error)"))
                }
            }
        }
        let pairs = wanted
        // One unit of work per (proto, mode): dual-stack when both families are wanted.
        var units: [(TransportProtocol, Mode)] = []
        for proto in [TransportProtocol.udp, .tcp] {
            let v4 = pairs.contains(.init(proto, .ipv4))
            let v6 = pairs.contains(.init(proto, .ipv6))
            if v4 && v6 {
                units.append((proto, .dualStack))
            } else if v4 {
                units.append((proto, .ipv4))
            } else if v6 {
                units.append((proto, .ipv6Only))
            }
        }
        let work = units
        let threads = parallelism ?? Sys.onlineProcessors()
        let chunk = 2048
        let chunksPerUnit = (ports.count + chunk - 1) / chunk
        let total = work.count * chunksPerUnit
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let results = Locked<[PortKey: BindOutcome]>([:])
        let ringFailure = Locked<Errno?>(nil)
        // The caller's other work first, then the chunks, which even the load out.
        let nextAlongside = Atomic<Int>(0)
        // Threads of our own, not a pool's: they take the caller's network namespace
        // (hidden --all-netns probes from inside each namespace).
        Sys.onThreads(max(1, min(threads, total))) { _ in
            while case let index = nextAlongside.add(1, ordering: .relaxed).oldValue, index < alongside.count { alongside[index]() }
            var local: [PortKey: BindOutcome] = [:]
            var sockets = ProbeSockets()
            var ring = batching ? BindRing() : nil
            var batch: [UInt16] = []
            batch.reserveCapacity(BindRing.capacity)
            var knownByProto: [TransportProtocol: Set<PortKey>] = [:]

            /// Stores what a probe of `port` in `mode` found; a dual-stack
            /// probe that finds the port in use is followed by one per family.
            func record(_ port: UInt16, _ proto: TransportProtocol, _ mode: Mode, _ outcome: BindOutcome) {
                switch (mode, outcome) {
                case (_, .free): return
                case (.ipv4, _): local[PortKey(proto, .ipv4, port)] = outcome
                case (.ipv6Only, _): local[PortKey(proto, .ipv6, port)] = outcome
                case (.dualStack, .inUse):
                    // Which family holds it: probe each (a free result is simply not stored).
                    let v4 = probe(port, proto, .ipv4, &sockets)
                    let v6 = probe(port, proto, .ipv6Only, &sockets)
                    if v4 != .free { local[PortKey(proto, .ipv4, port)] = v4 }
                    if v6 != .free { local[PortKey(proto, .ipv6, port)] = v6 }
                case (.dualStack, _):
                    local[PortKey(proto, .ipv4, port)] = outcome
                    local[PortKey(proto, .ipv6, port)] = outcome
                }
            }

            /// Probes the batched ports through the ring (or, should the
            /// ring fail, one by one).
            func flush(_ proto: TransportProtocol, _ mode: Mode) {
                guard !batch.isEmpty else { return }
                defer { batch.removeAll(keepingCapacity: true) }
                if let active = ring {
                    do {
                        let answers = try active.probe(ports: batch, ipv6: mode != .ipv4, udp: proto == .udp)
                        for (port, answer) in zip(batch, answers) {
                            let outcome: BindOutcome
                            if let answer {
                                outcome =
                                    answer.socketFailed
                                    ? .error(errno: answer.errno, message: "socket: \(Errno(answer.errno))")
                                    : self.outcome(ofBindError: Errno(answer.errno))
                            } else {
                                outcome = .free
                            }
                            record(port, proto, mode, outcome)
                        }
                        return
                    } catch {
                        ring = nil
                        ringFailure.withLock { $0 = $0 ?? error }
                    }
                }
                for port in batch { record(port, proto, mode, probe(port, proto, mode, &sockets)) }
            }

            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < total else { break }
                let (proto, unitMode) = work[index / chunksPerUnit]
                if knownByProto[proto] == nil { knownByProto[proto] = knownPorts(proto) }
                let known = knownByProto[proto] ?? []
                let batching = ring != nil && batchable(unitMode)
                let first = Int(ports.lowerBound) + (index % chunksPerUnit) * chunk
                let last = min(Int(ports.upperBound), first + chunk - 1)
                for value in first...last {
                    let port = UInt16(value)
                    var mode = unitMode
                    let v4Key = PortKey(proto, .ipv4, port)
                    let v6Key = PortKey(proto, .ipv6, port)
                    let v4Known = mode != .ipv6Only && known.contains(v4Key)
                    let v6Known = mode != .ipv4 && known.contains(v6Key)
                    if v4Known { local[v4Key] = .listed }
                    if v6Known { local[v6Key] = .listed }
                    switch (mode, v4Known, v6Known) {
                    case (.ipv4, true, _), (.ipv6Only, _, true), (.dualStack, true, true): continue
                    case (.dualStack, true, false): mode = .ipv6Only
                    case (.dualStack, false, true): mode = .ipv4
                    default: break
                    }
                    if batching && mode == unitMode {
                        batch.append(port)
                        if batch.count == BindRing.capacity { flush(proto, unitMode) }
                    } else {
                        record(port, proto, mode, probe(port, proto, mode, &sockets))
                    }
                }
                flush(proto, unitMode)
                let finished = done.add(1, ordering: .relaxed).newValue
                progress?(finished, total)
            }
            sockets.closeAll()
            let mine = local
            results.withLock { $0.merge(mine) { a, _ in a } }
        }
        if let error = ringFailure.withLock({ $0 }) {
            diagnostics.append(Diagnostic(.notice, "io_uring bind batches failed (\(error)); the rest was probed with system calls"))
        }
        let sweep = BindSweep(outcomes: results.withLock { $0 }, pairs: Set(pairs))
        diagnostics += summarize(sweep)
        return (sweep, diagnostics)
    }

    /// One diagnostic per kind of port that could not be probed, not one per port.
    static func summarize(_ sweep: BindSweep) -> [Diagnostic] {
        var notProbed: [String: [PortKey]] = [:]
        var errors: [String: [PortKey]] = [:]
        for (key, outcome) in sweep.outcomes {
            switch outcome {
            case .notProbed(let reason): notProbed[reason, default: []].append(key)
            case .error(_, let message): errors[message, default: []].append(key)
            case .inUse, .free, .listed: break
            }
        }
        func span(_ keys: [PortKey]) -> String {
            let ports = keys.map(\.port)
            guard let low = ports.min(), let high = ports.max() else { return "" }
            return "\(keys.count) port probe\(keys.count == 1 ? "" : "s") (ports \(low)-\(high))"
        }
        var out: [Diagnostic] = []
        for (reason, keys) in notProbed.sorted(by: { $0.key < $1.key }) {
            let hint = reason.hasPrefix("EACCES") ? "; hidden ports there cannot be found: run as root" : ""
            out.append(Diagnostic(.warning, "\(span(keys)) not made: \(reason)\(hint)"))
        }
        for (message, keys) in errors.sorted(by: { $0.key < $1.key }) {
            out.append(Diagnostic(.warning, "\(span(keys)) failed: \(message)"))
        }
        return out
    }
}

/// TCP connect probes on loopback: does something accept connections on
/// the port? Made only for candidates (ports in use that no table explains),
/// so the check does not knock on every service of the host.
public enum ConnectProber {
    /// Connects to `key`'s port on loopback (127.0.0.1 or ::1) and says how it went within `timeoutMilliseconds`;
    /// `.notProbed` for anything but TCP. The socket is reset on close, leaving no TIME_WAIT.
    public static func probe(_ key: PortKey, timeoutMilliseconds: Int32 = 250) -> ConnectOutcome {
        guard key.proto == .tcp else { return .notProbed }
        let ipv6 = key.family == .ipv6
        let fd: Int32
        do { fd = try Sys.probeSocket(ipv6: ipv6, udp: false, nonBlocking: true) } catch { return .failed }
        defer { Sys.close(fd) }
        // RST on close: no TIME_WAIT left behind to confuse the next round.
        try? Sys.probeAbortOnClose(fd)
        do { try Sys.probeConnectLoopback(fd, ipv6: ipv6, port: key.port) } catch {
            switch error {
            case .inProgress, .interrupted: break
            case .connectionRefused: return .refused
            default: return .failed
            }
        }
        do {
            let events = try Sys.poll(fd, for: .writable, timeoutMilliseconds: timeoutMilliseconds)
            if events.isEmpty { return .timedOut }
            let pending = try Sys.probePendingError(fd)
            if pending == 0 { return .accepted }
            return Errno(pending) == .connectionRefused ? .refused : .failed
        } catch { return .failed }
    }
}
