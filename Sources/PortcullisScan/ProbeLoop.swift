import PortcullisCore
import PortcullisLinux

/// One worker's event loop: starts probes up to its share of the
/// concurrency, waits on epoll for answers or the earliest deadline, and
/// decides each port. Not shared between threads.
final class ProbeLoop {
    private struct InFlight {
        var probe: Probe
        var fd: Int32
        var startedAt: Int64
    }

    private let shared: SharedScan
    private var capacity: Int
    private let maxCapacity: Int
    private let epoll: Int32
    private var slots: [InFlight?]
    private var generations: [UInt32]
    private var freeSlots: [Int32]
    private var deadlines = DeadlineHeap()
    /// Retries ready to go, before fresh probes (first-in first-out).
    private var retryQueue = ProbeQueue()
    /// Probes backing off after a local resource error, with when to retry.
    private var backingOff: [(notBefore: Int64, probe: Probe)] = []
    private var inFlight = 0
    /// A refused TCP socket per address kind and zone, ready to connect
    /// again: over loopback most ports refuse within the connect call, and
    /// reusing the socket saves creating and closing one per port. A connect
    /// to a scoped link-local address binds the socket to that interface
    /// (the kernel sets sk_bound_dev_if and keeps it), so such a socket is
    /// reused only for the same interface.
    private var spareTCP: [SpareKey: Int32] = [:]
    private struct SpareKey: Hashable {
        var kind: IPAddress.Kind
        var scopeID: UInt32
    }
    private var inlineAnswers = InlineAnswers()
    private(set) var results: [(host: Int, portIndex: Int, result: ScanPortResult)] = []

    init(shared: SharedScan, capacity: Int) {
        self.shared = shared
        self.capacity = capacity
        maxCapacity = capacity
        slots = Array(repeating: nil, count: capacity)
        generations = Array(repeating: 0, count: capacity)
        freeSlots = (0..<Int32(capacity)).reversed()
        // Without epoll nothing can be scanned; every probe becomes unknown below.
        epoll = (try? Sys.epollCreate()) ?? -1
    }

    deinit {
        if epoll >= 0 { Sys.close(epoll) }
        for fd in spareTCP.values { Sys.close(fd) }
    }

    func run() {
        guard epoll >= 0 else {
            while let probe = shared.takeProbe() { decide(probe, .unknown, .localError, detail: "epoll_create1 failed") }
            return
        }
        var tokens = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        while true {
            var now = Sys.monotonicMicroseconds()
            let (rateWait, moreNow) = startProbes(now: now)
            if inFlight == 0 && retryQueue.isEmpty && backingOff.isEmpty && shared.exhausted { break }
            let wait = moreNow ? 0 : waitMilliseconds(now: now, rateWait: rateWait)
            let ready = (try? Sys.epollWait(epoll, tokens: &tokens, events: &events, timeoutMilliseconds: wait)) ?? 0
            now = Sys.monotonicMicroseconds()
            for i in 0..<ready { handle(token: tokens[i], events: events[i], now: now) }
            expire(now: now)
        }
    }

    // MARK: starting probes

    /// Probes started between two looks at epoll. Answers over loopback
    /// often arrive within the connect call and take no slot, so without a
    /// bound the loop would start thousands before reading any answer, and
    /// the answers in flight would wait long enough to time out.
    private static let startsPerTurn = 64

    /// Starts probes, as capacity and the rate cap allow, up to
    /// `startsPerTurn`; returns when the rate cap next allows one (if it is
    /// what stopped us) and whether more could start at once.
    private func startProbes(now: Int64) -> (rateWait: Int64?, moreNow: Bool) {
        var index = 0
        while index < backingOff.count {
            if backingOff[index].notBefore <= now { retryQueue.append(backingOff.remove(at: index).probe) } else { index += 1 }
        }
        var started = 0
        while inFlight < capacity {
            if started == Self.startsPerTurn { return (nil, true) }
            if let when = shared.rateWait(now: now) { return (when, false) }
            let probe: Probe
            if !retryQueue.isEmpty {
                probe = retryQueue.pop()
            } else if let fresh = shared.takeProbe() {
                probe = fresh
            } else {
                break
            }
            start(probe, now: now)
            started += 1
        }
        return (nil, false)
    }

    private func start(_ probe: Probe, now: Int64) {
        let host = shared.hosts[probe.host]
        let udp = shared.proto(of: probe) == .udp
        let port = shared.port(of: probe)
        let scopeID = host.zone?.index ?? 0
        let spareKey = SpareKey(kind: host.address.kind, scopeID: scopeID)
        let fd: Int32
        if !udp, let spare = spareTCP.removeValue(forKey: spareKey) {
            fd = spare
        } else {
            do { fd = try ScanSys.socket(for: host.address, udp: udp) } catch {
                failedLocally(probe, error, now: now)
                return
            }
        }
        do throws(Errno) {
            if udp {
                _ = try ScanSys.startConnect(fd, to: host.address, port: port, scopeID: scopeID)
                _ = try Sys.send(fd, shared.options.udpPayload(port))
            } else {
                if try ScanSys.startConnect(fd, to: host.address, port: port, scopeID: scopeID) {
                    connected(probe, fd: fd, rtt: Sys.monotonicMicroseconds() - now)
                    return
                }
                // Over loopback the answer is often in before connect returns
                // (the RST is processed as the socket is released): asking
                // connect again reads it now and skips epoll. A host that
                // never answers that fast (any remote one) stops being asked.
                if inlineAnswers.worthAsking(probe.host) {
                    let progress = ScanSys.connectAgain(fd, to: host.address, port: port, scopeID: scopeID)
                    inlineAnswers.record(probe.host, answered: progress != .pending)
                    switch progress {
                    case .pending:
                        break
                    case .connected:
                        connected(probe, fd: fd, rtt: Sys.monotonicMicroseconds() - now)
                        return
                    case .failed(let early):
                        throw early
                    }
                }
            }
        } catch {
            if !udp && error == .connectionRefused && spareTCP[spareKey] == nil {
                spareTCP[spareKey] = fd  // unconnected again: reusable
            } else {
                Sys.close(fd)
            }
            concluded(probe, error: error.rawValue, rtt: Sys.monotonicMicroseconds() - now, now: now)
            return
        }
        guard let slot = freeSlots.popLast() else {
            // Cannot happen (inFlight < capacity); be safe rather than leak.
            Sys.close(fd)
            retryQueue.append(probe)
            return
        }
        let generation = generations[Int(slot)] &+ 1
        generations[Int(slot)] = generation
        do {
            try Sys.epollAdd(
                epoll, fd, events: (udp ? Sys.epollReadable : Sys.epollWritable) | Sys.epollFailed,
                token: UInt64(UInt32(slot)) | UInt64(generation) << 32)
        } catch {
            Sys.close(fd)
            freeSlots.append(slot)
            failedLocally(probe, error, now: now)
            return
        }
        slots[Int(slot)] = InFlight(probe: probe, fd: fd, startedAt: now)
        inFlight += 1
        deadlines.push(.init(deadline: now + shared.timeout(host: probe.host), slot: slot, generation: generation))
    }

    // MARK: answers

    private func handle(token: UInt64, events: UInt32, now: Int64) {
        let slot = Int32(truncatingIfNeeded: token & 0xffff_ffff)
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard Int(slot) < slots.count, generations[Int(slot)] == generation, let entry = slots[Int(slot)] else { return }
        let rtt = now - entry.startedAt
        if shared.proto(of: entry.probe) == .udp {
            if events & Sys.epollReadable != 0 {
                var buffer = [UInt8](repeating: 0, count: 2048)
                switch Result(catching: { () throws(Errno) in try Sys.receive(entry.fd, into: &buffer) }) {
                case .success:
                    release(slot)
                    shared.answered(host: entry.probe.host, attempt: entry.probe.attempt, rtt: rtt)
                    decide(entry.probe, .open, .udpResponse, rtt: rtt)
                case .failure(let error):
                    release(slot)
                    concluded(entry.probe, error: error.rawValue, rtt: rtt, now: now)
                }
                return
            }
            let error = ScanSys.pendingError(entry.fd)
            release(slot)
            concluded(entry.probe, error: error, rtt: rtt, now: now)
            return
        }
        let error = ScanSys.pendingError(entry.fd)
        if error == 0 {
            slots[Int(slot)] = nil  // keep the fd open for the self-connect check
            freeSlot(slot)
            connected(entry.probe, fd: entry.fd, rtt: rtt)
        } else {
            release(slot)
            concluded(entry.probe, error: error, rtt: rtt, now: now)
        }
    }

    /// A TCP connect completed. If the socket is connected to itself (a
    /// connect to a free port on this host that picked that same port as its
    /// source, TCP simultaneous open), the port is not open: try again, and
    /// the next source port will be refused as the free port it is.
    private func connected(_ probe: Probe, fd: Int32, rtt: Int64) {
        let target = shared.hosts[probe.host].address
        let port = shared.port(of: probe)
        let local = try? Sys.localEndpoint(fd)
        ScanSys.abortOnClose(fd)  // RST, not FIN: no TIME_WAIT left behind
        Sys.close(fd)
        if let local, local.port == port, local.address.normalized == target.normalized {
            var again = probe
            again.selfConnects += 1
            if again.selfConnects >= 3 {
                decide(probe, .closed, .connRefused, detail: "connect looped back to itself (the port is free)")
            } else {
                retryQueue.append(again)
            }
            return
        }
        shared.answered(host: probe.host, attempt: probe.attempt, rtt: rtt)
        decide(probe, .open, .synAck, rtt: rtt)
    }

    /// A probe ended with `error` (an errno, or 0 for a completed UDP send).
    private func concluded(_ probe: Probe, error: Int32, rtt: Int64, now: Int64) {
        let udp = shared.proto(of: probe) == .udp
        switch error {
        case Errno.connectionRefused.rawValue:
            shared.answered(host: probe.host, attempt: probe.attempt, rtt: rtt)
            decide(probe, .closed, udp ? .portUnreachable : .connRefused, rtt: rtt)
        case Errno.hostUnreachable.rawValue:
            shared.answered(host: probe.host, attempt: probe.attempt, rtt: rtt)
            decide(probe, .filtered, .hostUnreachable, rtt: rtt)
        case Errno.networkUnreachable.rawValue:
            shared.answered(host: probe.host, attempt: probe.attempt, rtt: rtt)
            decide(probe, .filtered, .netUnreachable, rtt: rtt)
        case Errno.notPermitted.rawValue, Errno.permissionDenied.rawValue:
            // A local netfilter rule refused the packet.
            decide(probe, .filtered, .adminProhibited, detail: "refused by a local firewall rule (\(Errno(error)))")
        case Errno.timedOut.rawValue, 0:
            timedOut(probe)
        default:
            let errno = Errno(error)
            if errno.isLocalResourceShortage {
                failedLocally(probe, errno, now: now)
            } else {
                decide(probe, .unknown, .localError, detail: errno.description)
            }
        }
    }

    /// Local resources ran short (descriptors, ephemeral ports, buffers):
    /// the port said nothing. Fewer probes in flight, a pause, and again.
    private func failedLocally(_ probe: Probe, _ error: Errno, now: Int64) {
        var again = probe
        again.resourceFailures += 1
        if again.resourceFailures > 8 {
            decide(probe, .unknown, .localError, detail: "\(error) (after backing off \(again.resourceFailures - 1) times)")
            return
        }
        capacity = max(1, min(capacity, max(inFlight, 1) * 3 / 4))
        backingOff.append((now + 10_000 << again.resourceFailures, again))
    }

    private func timedOut(_ probe: Probe) {
        if shared.retries(afterAttempt: probe.attempt) {
            var again = probe
            again.attempt += 1
            retryQueue.append(again)
        } else if shared.proto(of: probe) == .udp {
            decide(probe, .openFiltered, .noResponse)
        } else {
            decide(probe, .filtered, .noResponse)
        }
    }

    // MARK: deadlines

    private func expire(now: Int64) {
        while let top = deadlines.first, top.deadline <= now {
            _ = deadlines.pop()
            guard generations[Int(top.slot)] == top.generation, let entry = slots[Int(top.slot)] else { continue }
            release(top.slot)
            timedOut(entry.probe)
        }
        // Recover capacity slowly after a resource shortage.
        if capacity < maxCapacity && backingOff.isEmpty { capacity = min(maxCapacity, capacity + max(1, capacity / 16)) }
    }

    private func waitMilliseconds(now: Int64, rateWait: Int64?) -> Int32 {
        var until = Int64.max
        if let first = deadlines.first { until = first.deadline }
        if let rateWait { until = min(until, rateWait) }
        for entry in backingOff { until = min(until, entry.notBefore) }
        if !retryQueue.isEmpty && inFlight < capacity && rateWait == nil { return 0 }
        guard until != Int64.max else { return inFlight == 0 ? 0 : -1 }
        return Int32(clamping: max(0, (until - now + 999) / 1000))
    }

    // MARK: bookkeeping

    private func release(_ slot: Int32) {
        if let entry = slots[Int(slot)] { Sys.close(entry.fd) }
        slots[Int(slot)] = nil
        freeSlot(slot)
    }

    private func freeSlot(_ slot: Int32) {
        generations[Int(slot)] &+= 1
        freeSlots.append(slot)
        inFlight -= 1
    }

    private func decide(_ probe: Probe, _ state: ScanPortState, _ reason: ScanReason, detail: String? = nil, rtt: Int64? = nil) {
        let result = ScanPortResult(
            proto: shared.proto(of: probe), port: shared.port(of: probe), state: state, reason: reason,
            detail: detail, rttMicroseconds: rtt)
        results.append((probe.host, probe.portIndex, result))
        shared.options.onResult?(shared.hosts[probe.host], result)
        shared.reportDecided()
    }
}

/// Per host, whether asking `connect` again right after it started finds the
/// answer already there (loopback, the host's own addresses): kept up while
/// at least one ask in eight does, after the first 32.
struct InlineAnswers {
    private var counts: [Int: (asked: Int, answered: Int)] = [:]

    func worthAsking(_ host: Int) -> Bool {
        guard let count = counts[host] else { return true }
        return count.asked < 32 || count.answered * 8 >= count.asked
    }

    mutating func record(_ host: Int, answered: Bool) {
        counts[host, default: (0, 0)].asked += 1
        if answered { counts[host, default: (0, 0)].answered += 1 }
    }
}

/// A first-in first-out queue of probes: an array and a read index, so
/// taking from the front is O(1) even when a whole filtered range is retried.
struct ProbeQueue {
    private var items: [Probe] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ probe: Probe) { items.append(probe) }

    /// The oldest probe; only called when not empty.
    mutating func pop() -> Probe {
        let probe = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return probe
    }
}
