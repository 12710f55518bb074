import Dispatch
import PortcullisCore
import PortcullisLinux
import Synchronization

/// The TCP connect and UDP probe engine: non-blocking sockets, many in
/// flight, each worker thread with its own epoll set. Ports are decided as
/// nmap decides them; a probe that local resource limits keep from being
/// made is retried after backing off, and reported `unknown` only if that
/// keeps failing.
public enum ScanEngine {
    /// How hard and how fast the engine probes, and where it reports.
    public struct Options: Sendable {
        /// Probes in flight at once, across workers (also bounded by RLIMIT_NOFILE).
        public var maxConcurrency = 4096
        /// New probes per second, across workers; nil for no cap.
        public var rate: Int?
        /// Most retries of a port that did not answer (see RetryAllowance).
        public var maxRetries = 6
        /// Wait for an answer before any round trip to the host has been measured.
        public var initialTimeoutMilliseconds = 1000
        /// Floor of the adaptive per-host timeout (smoothed RTT + 4 × variation); lowered to the maximum if above it.
        public var minTimeoutMilliseconds = 100
        /// Ceiling of the adaptive per-host timeout (`--max-timeout`).
        public var maxTimeoutMilliseconds = 2000
        /// Worker threads; nil = online CPUs.
        public var workers: Int?
        /// The datagram sent to a UDP port (empty when the service has no payload).
        public var udpPayload: @Sendable (UInt16) -> [UInt8] = { _ in [] }
        /// Called from worker threads as each port is decided.
        public var onResult: (@Sendable (ScanTarget, ScanPortResult) -> Void)?
        /// Called from worker threads with (decided, total) now and then.
        public var onProgress: (@Sendable (Int, Int) -> Void)?
        /// The defaults: 4096 probes in flight, no rate cap, 6 retries, timeouts 1000 ms initial within 100-2000 ms.
        public init() {}
    }

    /// Scans every host on every port; results in (host, proto, port) order.
    public static func run(hosts: [ScanTarget], tcpPorts: [UInt16], udpPorts: [UInt16], options: Options = Options()) -> [ScanHostResult] {
        guard !hosts.isEmpty, !(tcpPorts.isEmpty && udpPorts.isEmpty) else {
            return hosts.map { ScanHostResult(address: $0.address, hostname: $0.hostname, zone: $0.zone) }
        }
        let descriptorLimit = Sys.raiseDescriptorLimit()
        let workers = max(1, min(options.workers ?? Sys.onlineProcessors(), 64))
        let concurrency = max(1, min(options.maxConcurrency, descriptorLimit - 64 - 2 * workers))
        let shared = SharedScan(hosts: hosts, tcpPorts: tcpPorts, udpPorts: udpPorts, options: options)
        let collected = Locked<[[ScanPortResult?]]>(
            Array(repeating: Array(repeating: nil, count: tcpPorts.count + udpPorts.count), count: hosts.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let share = concurrency / workers + (worker < concurrency % workers ? 1 : 0)
            let loop = ProbeLoop(shared: shared, capacity: max(1, share))
            loop.run()
            collected.withLock { table in
                for (host, portIndex, result) in loop.results { table[host][portIndex] = result }
            }
        }
        let table = collected.withLock { $0 }
        return hosts.indices.map { h in
            let ports = table[h].compactMap { $0 }.sorted { ($0.proto.rawValue, $0.port) < ($1.proto.rawValue, $1.port) }
            return ScanHostResult(address: hosts[h].address, hostname: hosts[h].hostname, zone: hosts[h].zone, ports: ports)
        }
    }
}

/// One probe: which (host, port) and how many times it has been tried.
struct Probe {
    var host: Int
    /// Index into tcpPorts followed by udpPorts.
    var portIndex: Int
    var attempt = 0
    var selfConnects = 0
    var resourceFailures = 0
}

/// State the workers share: the next probe to hand out, round-trip timers
/// per host, the retry allowance, the rate cap and the progress count.
final class SharedScan: Sendable {
    let hosts: [ScanTarget]
    let tcpPorts: [UInt16]
    let udpPorts: [UInt16]
    let options: ScanEngine.Options
    let total: Int
    private let next = Atomic<Int>(0)
    private let decided = Atomic<Int>(0)
    private let timers: Locked<[RoundTripTimer]>
    private let allowance: Locked<RetryAllowance>
    /// Earliest time (µs) the next probe may start under --rate.
    private let rateClock = Locked<Int64>(0)
    private let rateInterval: Int64?

    init(hosts: [ScanTarget], tcpPorts: [UInt16], udpPorts: [UInt16], options: ScanEngine.Options) {
        self.hosts = hosts
        self.tcpPorts = tcpPorts
        self.udpPorts = udpPorts
        self.options = options
        total = hosts.count * (tcpPorts.count + udpPorts.count)
        let timer = RoundTripTimer(
            initial: Int64(options.initialTimeoutMilliseconds) * 1000,
            minimum: Int64(options.minTimeoutMilliseconds) * 1000,
            maximum: Int64(options.maxTimeoutMilliseconds) * 1000)
        timers = Locked(Array(repeating: timer, count: hosts.count))
        allowance = Locked(RetryAllowance(maxRetries: options.maxRetries))
        rateInterval = options.rate.map { max(1, 1_000_000 / Int64(max(1, $0))) }
    }

    /// The next fresh probe, hosts interleaved so no one host takes a burst.
    func takeProbe() -> Probe? {
        let index = next.add(1, ordering: .relaxed).oldValue
        guard index < total else { return nil }
        return Probe(host: index % hosts.count, portIndex: index / hosts.count)
    }

    var exhausted: Bool { next.load(ordering: .relaxed) >= total }

    func proto(of probe: Probe) -> TransportProtocol { probe.portIndex < tcpPorts.count ? .tcp : .udp }
    func port(of probe: Probe) -> UInt16 {
        probe.portIndex < tcpPorts.count ? tcpPorts[probe.portIndex] : udpPorts[probe.portIndex - tcpPorts.count]
    }

    func timeout(host: Int) -> Int64 { timers.withLock { $0[host].timeout } }

    func answered(host: Int, attempt: Int, rtt: Int64) {
        timers.withLock { $0[host].record(rtt) }
        // A first attempt's answer cannot raise the retry allowance: no lock for it.
        if attempt > 0 { allowance.withLock { $0.answered(onAttempt: attempt) } }
    }

    func retries(afterAttempt attempt: Int) -> Bool { allowance.withLock { $0.retries(afterAttempt: attempt) } }

    /// nil when a probe may start now; otherwise when it may.
    func rateWait(now: Int64) -> Int64? {
        guard let interval = rateInterval else { return nil }
        return rateClock.withLock { clock in
            if clock > now { return clock }
            clock = max(clock, now - interval * 8) + interval  // after idling, a burst of up to 8 is allowed
            return nil
        }
    }

    func reportDecided() {
        let count = decided.add(1, ordering: .relaxed).newValue
        if let progress = options.onProgress, count % 256 == 0 || count == total { progress(count, total) }
    }
}
