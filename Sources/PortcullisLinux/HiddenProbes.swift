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
        let ipv6 = key.family == .ipv6
        let fd: Int32
        do { fd = try Sys.probeSocket(ipv6: ipv6, udp: key.proto == .udp) } catch {
            return .error(errno: error.rawValue, message: "socket: \(error)")
        }
        defer { Sys.close(fd) }
        if ipv6 {
            do { try Sys.probeSetV6Only(fd) } catch { return .error(errno: error.rawValue, message: "IPV6_V6ONLY: \(error)") }
        }
        do { try Sys.probeBindWildcard(fd, ipv6: ipv6, port: key.port) } catch {
            switch error {
            case Errno(EADDRINUSE_VALUE): return .inUse
            case .permissionDenied: return .notProbed("EACCES: binding below ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE")
            default: return .error(errno: error.rawValue, message: "bind: \(error)")
            }
        }
        return .free
    }

    /// Probes every port in `ports` for each pair, spread over `parallelism`
    /// threads in chunks. A family the kernel lacks (no IPv6) is skipped with
    /// a diagnostic instead of 65,535 errors. `progress(done, total)` is
    /// called from worker threads. `parallelism` defaults to the online CPUs.
    public static func sweep(
        protocols: [TransportProtocol] = [.tcp, .udp], families: [AddressFamily] = AddressFamily.allCases,
        ports: ClosedRange<UInt16> = 1...65535, parallelism: Int? = nil,
        progress: (@Sendable (Int, Int) -> Void)? = nil
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
                    diagnostics.append(Diagnostic(.notice, "\(proto.rawValue)/\(family.rawValue) not probed: cannot open a socket: \(error)"))
                }
            }
        }
        let pairs = wanted
        let threads = parallelism ?? Sys.hiddenOnlineProcessors()
        let chunk = 2048
        let chunksPerPair = (ports.count + chunk - 1) / chunk
        let total = pairs.count * chunksPerPair
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let results = Mutex<[PortKey: BindOutcome]>([:])
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, total))) { _ in
            var local: [PortKey: BindOutcome] = [:]
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < total else { break }
                let pair = pairs[index / chunksPerPair]
                let first = Int(ports.lowerBound) + (index % chunksPerPair) * chunk
                let last = min(Int(ports.upperBound), first + chunk - 1)
                for port in first...last {
                    let key = PortKey(pair.proto, pair.family, UInt16(port))
                    let outcome = probe(key)
                    if outcome != .free { local[key] = outcome }
                }
                let finished = done.add(1, ordering: .relaxed).newValue
                progress?(finished, total)
            }
            let mine = local
            results.withLock { $0.merge(mine) { a, _ in a } }
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
            case .inUse, .free: break
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
    public static func probe(_ key: PortKey, timeoutMilliseconds: Int32 = 250) -> ConnectOutcome {
        guard key.proto == .tcp else { return .notProbed }
        let ipv6 = key.family == .ipv6
        let fd: Int32
        do { fd = try Sys.probeSocket(ipv6: ipv6, udp: false, nonBlocking: true) } catch { return .failed }
        defer { Sys.close(fd) }
        // RST on close: no TIME_WAIT left behind to confuse the next round.
        try? Sys.probeAbortOnClose(fd)
        do { try Sys.probeConnectLoopback(fd, ipv6: ipv6, port: key.port) } catch {
            switch error.rawValue {
            case EINPROGRESS_VALUE, EINTR_VALUE: break
            case ECONNREFUSED_VALUE: return .refused
            default: return .failed
            }
        }
        do {
            let events = try Sys.probePoll(fd, events: POLLOUT_VALUE, timeoutMilliseconds: timeoutMilliseconds)
            if events == 0 { return .timedOut }
            let pending = try Sys.probePendingError(fd)
            if pending == 0 { return .accepted }
            return pending == ECONNREFUSED_VALUE ? .refused : .failed
        } catch { return .failed }
    }
}
